"""The Docker engine the local hosts run on: installed from Debian, started when not running,
and stopped again only when Dockyard started it (its PID is recorded)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from dockyard.problems import DockyardError

DOCKER = "/usr/bin/docker"  # Debian's client, the same version as the daemon it talks to
DOCKERD = "/usr/sbin/dockerd"
PACKAGES = ("docker.io", "debootstrap")


def ensure_packages(packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """Install the Debian packages that are missing; returns what was installed."""
    missing = [p for p in packages if not _installed(p)]
    if not missing:
        return []
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]):
        proc = subprocess.run([*sudo, *cmd], env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise DockyardError(f"installing {' '.join(missing)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return missing


def _installed(package: str) -> bool:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False)
    return proc.returncode == 0 and "install ok installed" in proc.stdout


def docker(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([DOCKER, *args], capture_output=True, text=True, check=False, input=stdin)
    if check and proc.returncode != 0:
        raise DockyardError(f"docker {' '.join(args[:3])}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def running() -> bool:
    return subprocess.run([DOCKER, "info"], capture_output=True, check=False).returncode == 0


def ensure_running(state_dir: Path, timeout_s: float = 60) -> bool:
    """Start dockerd in the background unless an engine answers. Returns True when we started it."""
    if running():
        return False
    if not Path(DOCKERD).exists():
        raise DockyardError(f"{DOCKERD}: not found (install Debian's docker.io)")
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "dockerd.log").open("ab")
    proc = subprocess.Popen(
        [DOCKERD, "--host", "unix:///var/run/docker.sock"],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    (state_dir / "dockerd.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DockyardError(f"dockerd exited with {proc.returncode}; see {state_dir / 'dockerd.log'}")
        if running():
            return True
        time.sleep(0.5)
    raise DockyardError(f"dockerd did not answer within {timeout_s:.0f}s; see {state_dir / 'dockerd.log'}")


def stop_if_started(state_dir: Path, timeout_s: float = 90) -> bool:
    """Stop dockerd only if this tool started it (PID recorded); returns whether it stopped one."""
    pid_file = state_dir / "dockerd.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip() or 0)
    pid_file.unlink()
    if pid <= 0 or not _is_dockerd(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    raise DockyardError(f"dockerd (pid {pid}) did not stop within {timeout_s:.0f}s")


def _alive(pid: int) -> bool:
    """Whether the process still runs; an exited child of ours is reaped (it is a zombie until then)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _is_dockerd(pid: int) -> bool:
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return os.path.basename(exe) == "dockerd"
