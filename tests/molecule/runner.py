"""Run Molecule steps of one scenario, as the scenario tests that drive their own stages do."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def molecule_steps(
    scenario: str, steps: tuple[str, ...], env: Mapping[str, str], extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``molecule STEP -s SCENARIO`` for each step in turn; the first that fails, or the last."""
    proc = None
    for step in steps:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "molecule"), step, "-s", scenario, *extra],
            cwd=ROOT,
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=1200,
        )
        if proc.returncode != 0:
            return proc
    assert proc is not None
    return proc
