"""Run a play for real on the controller (``-i localhost,``, connection local) with the sample
platform spec as extra vars: how the unit tests exercise a role's tasks without a host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from dockyard import playbook

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "inventories" / "platform" / "group_vars" / "all" / "dockyard.yml"


def run(play: list[dict[str, Any]], path: Path) -> subprocess.CompletedProcess[str]:
    """Write ``play`` to ``path`` and run it; the result, never raising on failure."""
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    return subprocess.run(
        [
            playbook.executable("ansible-playbook"),
            *("-i", "localhost,", "-e", f"@{SPEC}", "-e", f"ansible_python_interpreter={sys.executable}", str(path)),
        ],
        cwd=ROOT,
        env=playbook.ansible_env(ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
