"""invoke backup: the command's checks and the controller-side bookkeeping (the playbook part runs
in the gitlab Molecule test)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dockyard import backup
from tests.cli_runner import invoke


def test_unknown_component_is_one_line_and_exit_2(sample_tree: Path) -> None:
    proc = invoke("backup", "--env", "dev", "--component", "nexus", "--inventories", str(sample_tree))
    assert proc.returncode == 2
    assert "--component nexus: unknown component (use one of gitlab" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_last_complete_backup_and_its_size(tmp_path: Path) -> None:
    folder = tmp_path / "backups" / "dev" / "gitlab"
    assert backup.last_backup(folder) is None and backup.size_of(None) == 0
    old, new, empty = folder / "20260101T000000Z", folder / "20260201T000000Z", folder / "20260301T000000Z"
    for d in (old, new, empty):
        d.mkdir(parents=True)
    (old / "a.tar").write_bytes(b"x" * 10)
    (new / "b.tar").write_bytes(b"x" * 25)
    (new / "c.tar").write_bytes(b"x" * 5)
    assert backup.last_backup(folder) == new  # the empty (failed) one does not count
    assert backup.size_of(new) == 30
    stamp = backup.new_backup_dir(folder, dt.datetime(2026, 12, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert stamp == folder / "20261202T030405Z"
