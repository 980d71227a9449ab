"""The scenarios' background processes: a PID file is trusted only for a live process started with it,
so a file an earlier run (or a copied machine) left behind never skips a start or signals a stranger."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.standins import detached

ROOT = Path(__file__).resolve().parents[2]


def _start_double(tmp_path: Path, pid_file: Path) -> int:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fakes.kube_api",
            "--kubeconfig",
            str(tmp_path / "kc"),
            "--pid-file",
            str(pid_file),
        ],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    deadline = time.monotonic() + 30
    while (pid := detached.running(pid_file)) is None:
        assert time.monotonic() < deadline, "the API double never recorded its PID"
        time.sleep(0.1)
    return pid


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_stale_pid_file_naming_another_process_is_removed_without_a_signal(tmp_path: Path) -> None:
    pid_file = tmp_path / "upstream.pid"
    pid_file.write_text(f"{os.getpid()}\n")  # this test's own process: alive, but not started with that file
    assert detached.running(pid_file) is None
    assert detached.stop(pid_file) is None
    assert not pid_file.exists()


def test_a_pid_file_of_a_gone_process_is_not_running(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    pid_file = tmp_path / "upstream.pid"
    pid_file.write_text(gone.stdout)
    assert detached.running(pid_file) is None
    assert detached.main(["stop", str(pid_file)]) == 0
    assert not pid_file.exists()


def test_a_second_start_replaces_the_first_and_stop_ends_it(tmp_path: Path, capsys) -> None:
    pid_file = tmp_path / "api.pid"
    first = _start_double(tmp_path, pid_file)
    second = _start_double(tmp_path, pid_file)
    assert second != first
    assert not _alive(first), "the second start left the first serving"
    assert detached.main(["stop", str(pid_file)]) == 0
    assert capsys.readouterr().out.strip() == f"stopped {second}"
    assert detached.running(pid_file) is None and not pid_file.exists()
