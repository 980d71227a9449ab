"""A real OpenSSH server (Debian's openssh-server) on 127.0.0.1 for tests, with throwaway keys."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")


@dataclass
class Sshd:
    port: int
    client_key: Path
    known_hosts: Path
    dir: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(work: Path, extra_config: str = "", addresses: int = 1) -> Sshd:
    """An sshd listening on 127.0.0.1 .. 127.0.0.<addresses> (one port): inventories give each
    host its own address, as Dockyard's validation requires."""
    work.mkdir(parents=True, exist_ok=True)
    host_key = work / "ssh_host_ed25519_key"
    client_key = work / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (work / "authorized_keys").write_text((work / "client_ed25519.pub").read_text())
    port = free_port()
    ips = [f"127.0.0.{i}" for i in range(1, addresses + 1)]
    listen = "".join(f"ListenAddress {ip}\n" for ip in ips)
    config = work / "sshd_config"
    config.write_text(
        f"Port {port}\n{listen}HostKey {host_key}\n"
        f"AuthorizedKeysFile {work / 'authorized_keys'}\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\n"
        f"UsePAM no\nPidFile {work / 'sshd.pid'}\nMaxStartups 50\n{extra_config}"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    log = (work / "sshd.log").open("wb")
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
    public = (work / "ssh_host_ed25519_key.pub").read_text().split()
    known_hosts = work / "known_hosts"
    known_hosts.write_text("".join(f"[{ip}]:{port} {public[0]} {public[1]}\n" for ip in ips))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {(work / 'sshd.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    return Sshd(port, client_key, known_hosts, work, proc)
