"""`invoke plan` for the jenkins scenario's upgrade: the role in check mode against the installed
older core with the newer core in the catalogue overlay (plan.yml), through the same JSON callback
and parser `invoke plan` uses (dockyard.playbook). Prints the plan; exits 1 unless it lists the
upgrade's steps for OLD -> NEW and would fail nowhere. Run from side_effect.yml (Molecule's env)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dockyard import playbook

STEPS = ("quiet-down", "wait for running builds", "back up JENKINS_HOME", "plugin lockfile", "one restart", "ready")


def main() -> int:
    old, new = sys.argv[1], sys.argv[2]
    here = Path(__file__).resolve().parent
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "--check",
            "--diff",
            str(here / "plan.yml"),
        ],
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
        capture_output=True,
        text=True,
        check=False,
    )
    plan = playbook.parse_json_callback(proc.stdout)
    print(plan.render())
    notes = [note for _host, note in plan.notes if f"upgrade {old} -> {new}" in note]
    missing = [step for step in STEPS if not notes or step not in notes[0]]
    if proc.returncode != 0 or plan.failures or missing:
        print(f"plan check FAILED: rc={proc.returncode} failures={plan.failures} missing steps={missing}")
        print(proc.stderr[-3000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
