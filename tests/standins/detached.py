"""TEST ONLY: the background processes Molecule scenarios start in prepare and stop in cleanup (the
test upstreams, the Kubernetes API double), each known by its PID file.

A PID file is trusted only while the process it names is alive and was started with that PID file on
its command line. A file an earlier run left behind (a killed run, a machine copied mid-run) is stale:
``stop`` removes it without signalling whatever now has that PID, and the next start serves afresh.

    python -m tests.standins.detached stop PID_FILE   # prints "stopped <pid>" or "not running"
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NoReturn


def running(pid_file: Path, started_with: Path | None = None) -> int | None:
    """The PID in ``pid_file`` if that process is alive and has ``started_with`` (by default
    ``pid_file`` itself) among its command-line arguments."""
    try:
        pid = int(pid_file.read_text())
        proc = Path(f"/proc/{pid}")
        argv = proc.joinpath("cmdline").read_bytes().split(b"\0")
        cwd = Path(os.readlink(proc / "cwd"))
        state = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    wanted = (started_with or pid_file).resolve()
    if state == "Z" or not any((cwd / os.fsdecode(a)).resolve() == wanted for a in argv if a):
        return None
    return pid


def stop(pid_file: Path, started_with: Path | None = None, timeout_s: float = 20.0) -> int | None:
    """SIGTERM the process ``pid_file`` names if it is ours (see ``running``), wait for it to go,
    forget the file. Returns the PID it stopped, or None when nothing of ours was running."""
    pid = running(pid_file, started_with)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while running(pid_file, started_with) == pid:
            if time.monotonic() > deadline:
                raise SystemExit(f"{pid_file}: process {pid} did not stop within {timeout_s:.0f} s of SIGTERM")
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return pid


def serve_detached(pid_file: Path, server: AbstractContextManager[Any]) -> None:
    """Fork: the caller returns at once; the child (a session of its own) records its PID in
    ``pid_file``, runs inside ``server`` until SIGTERM, then exits. Call ``stop`` before binding any
    port, so a process a run before left serving gives its port up first."""
    if os.fork():
        return
    _child(pid_file, server)


def _child(pid_file: Path, server: AbstractContextManager[Any]) -> NoReturn:
    os.setsid()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with server:
        pid_file.write_text(f"{os.getpid()}\n")
        done.wait()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "stop":
        print("usage: python -m tests.standins.detached stop PID_FILE", file=sys.stderr)
        return 2
    pid = stop(Path(args[1]))
    print("not running" if pid is None else f"stopped {pid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
