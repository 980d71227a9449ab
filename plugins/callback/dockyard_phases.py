"""Callback plugin: time per phase, the items phases report as skipped and the phases that ask to run
again after seed, for ``invoke bootstrap`` and its closing summary (dockyard.summary).
Writes only when $DOCKYARD_PHASE_REPORT is set."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase

from dockyard.summary import REPORT_ENV, PhaseRecorder, phase_of

DOCUMENTATION = """
name: dockyard_phases
type: aggregate
short_description: record each phase's time and skipped parts for Dockyard's bootstrap summary
description:
  - Active only when the environment variable DOCKYARD_PHASE_REPORT names a file to write.
  - Phases report parts they did not do with set_stats data dockyard_skipped (list of phase, part, reason).
  - Phases ask invoke bootstrap to run them again after seed with set_stats data dockyard_after_seed
    (list of phase, objects waiting on seed's credentials).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "dockyard_phases"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        target = os.environ.get(REPORT_ENV)
        self._recorder = PhaseRecorder(Path(target), time.monotonic) if target else None

    def v2_playbook_on_play_start(self, play: Any) -> None:
        if self._recorder is None:
            return
        try:
            path = play.get_path()
        except Exception:  # a play without a recorded origin
            path = None
        self._recorder.play_start(phase_of(path, play.get_name()))

    def _result(self, result: Any, *_args: Any, **_kwargs: Any) -> None:
        if self._recorder is not None:
            self._recorder.host_result(result._host.get_name())

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _result

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if self._recorder is not None:
            self._recorder.finish(getattr(stats, "custom", {}))
