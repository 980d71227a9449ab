"""Run Dockyard's command line the way an operator does: `invoke` from the virtualenv, in a fresh
process that finds ansible.cfg itself (no ANSIBLE_CONFIG handed down from the test process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INVOKE = str(Path(sys.executable).parent / "invoke")


def invoke(
    *args: str, cwd: Path = ROOT, timeout: int = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    env["ANSIBLE_NOCOLOR"] = "1"
    env.update(extra)
    return subprocess.run(
        [INVOKE, "-r", str(ROOT), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )
