"""The harbor role's version rule, run for real (ansible-playbook, connection local, the role's
preflight tasks against a temporary <harbor_root>): at most two minor versions forward, never back,
refused before anything changes; an allowed jump lists the upgrade's steps."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import local_play


def preflight(tmp_path: Path, installed: str | None) -> subprocess.CompletedProcess[str]:
    harbor_root = tmp_path / "opt-harbor"
    harbor_root.mkdir()
    if installed:
        (harbor_root / installed).mkdir()
        (harbor_root / "current").symlink_to(harbor_root / installed)
    play = [
        {
            "name": "Harbor preflight",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Preflight",
                    "ansible.builtin.include_role": {"name": "harbor", "tasks_from": "preflight"},
                    "vars": {"harbor_root": str(harbor_root), "dockyard_state_dir": str(tmp_path / "state")},
                }
            ],
        }
    ]
    path = tmp_path / "play.yml"
    before = sorted(p.name for p in harbor_root.iterdir())
    proc = local_play.run(play, path)
    assert sorted(p.name for p in harbor_root.iterdir()) == before  # nothing changed on the "host"
    return proc


@pytest.mark.parametrize("installed", ["v2.12.0", "v2.16.0", "v1.10.19"])
def test_refused_jumps_fail_before_any_change(tmp_path: Path, installed: str) -> None:
    proc = preflight(tmp_path, installed)
    assert proc.returncode != 0
    assert f"cannot be installed over {installed.lstrip('v')}" in proc.stdout
    assert "at most two minor versions at a time" in proc.stdout


def test_two_minors_forward_is_planned_step_by_step(tmp_path: Path) -> None:
    proc = preflight(tmp_path, "v2.13.1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = " ".join(proc.stdout.split())  # the YAML callback wraps long messages
    assert "upgrade 2.13.1 -> v2.15.2" in text
    for step in ("1. back up", "/data/database", "/data/secret", "migrate -i", "./install.sh --with-trivy", "schema"):
        assert step in text


@pytest.mark.parametrize("installed", [None, "v2.15.2"])
def test_first_install_and_same_version_plan_no_upgrade(tmp_path: Path, installed: str | None) -> None:
    proc = preflight(tmp_path, installed)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "harbor on localhost: upgrade" not in proc.stdout
