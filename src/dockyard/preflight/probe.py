"""Collect the facts preflight needs from one host, over one SSH session (paramiko).

A single shell script runs per host and prints ``key=value`` lines, so a host costs one
connection and one round trip whatever the number of checks.
"""

from __future__ import annotations

import itertools
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

from dockyard.preflight.route import Hop

_SCRIPT = r"""
echo "time=$(date +%s.%N)"
. /etc/os-release 2>/dev/null
echo "os_id=${ID:-unknown}"
echo "os_version=${VERSION_ID:-unknown}"
echo "os_name=${PRETTY_NAME:-unknown}"
echo "cpus=$(nproc 2>/dev/null || echo 0)"
echo "mem_kb=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)"
echo "disk_kb=$(df -Pk /var 2>/dev/null | awk 'NR==2{print $4}')"
echo "swap_kb=$(awk 'NR>1{s+=$3} END{print s+0}' /proc/swaps 2>/dev/null)"
if [ "$(id -u)" = 0 ]; then echo sudo=root
elif sudo -n true 2>/dev/null; then echo sudo=nopasswd
else echo sudo=no
fi
for name in @NAMES@; do
  if getent hosts "$name" >/dev/null 2>&1; then echo "resolve.$name=ok"; else echo "resolve.$name=no"; fi
done
"""


@dataclass(frozen=True)
class Target:
    """How to reach one host, taken from its Ansible connection variables."""

    name: str
    address: str
    port: int = 22
    user: str | None = None
    key_file: str | None = None
    password: str | None = field(default=None, repr=False)
    known_hosts_files: tuple[str, ...] = ()
    strict_host_keys: bool = True
    timeout_s: float = 10.0
    jumps: tuple[Hop, ...] = ()  # ProxyJump hosts, in order
    proxy_command: str | None = None
    config_key_files: tuple[str, ...] = ()  # IdentityFile of ~/.ssh/config, when the inventory gives none

    def key_files(self) -> list[str] | None:
        if self.key_file:
            return [os.path.expanduser(self.key_file)]
        return list(self.config_key_files) or None


@dataclass
class Facts:
    host: str
    error: str | None = None  # set when SSH itself failed
    values: dict[str, str] = field(default_factory=dict)
    clock_skew_s: float | None = None
    clock_uncertainty_s: float | None = None


class HopFailed(Exception):
    """Reaching a jump host (or the tunnel through it) failed: the message names the hop."""


def _connect(target: Target, clients: list[paramiko.SSHClient]) -> paramiko.SSHClient:
    """Connect to the target, through its ProxyCommand or each ProxyJump host in turn (each client
    opened is appended to ``clients``, for the caller to close)."""
    sock: Any = paramiko.ProxyCommand(target.proxy_command) if target.proxy_command else None
    hops = [*target.jumps, Hop(target.address, target.port, target.user)]
    for hop, following in itertools.pairwise(hops):
        jump = paramiko.SSHClient()
        clients.append(jump)
        keys = list(hop.key_files) or target.key_files()
        try:
            _load_host_keys(jump, target)
            jump.connect(
                hostname=hop.host,
                port=hop.port,
                username=hop.user,
                key_filename=keys,
                sock=sock,
                timeout=target.timeout_s,
                banner_timeout=target.timeout_s,
                auth_timeout=target.timeout_s,
            )
            transport = jump.get_transport()
            assert transport is not None
            sock = transport.open_channel(
                "direct-tcpip", (following.host, following.port), ("127.0.0.1", 0), timeout=target.timeout_s
            )
        except (paramiko.SSHException, OSError) as exc:
            detail = _ssh_error(exc) if isinstance(exc, paramiko.SSHException) else str(exc.strerror or exc)
            raise HopFailed(f"jump host {hop.user + '@' if hop.user else ''}{hop.host}:{hop.port}: {detail}") from None
    client = paramiko.SSHClient()
    clients.append(client)
    _load_host_keys(client, target)
    keys = target.key_files()
    client.connect(
        hostname=target.address,
        port=target.port,
        username=target.user,
        key_filename=keys,
        password=target.password,
        sock=sock,
        timeout=target.timeout_s,
        banner_timeout=target.timeout_s,
        auth_timeout=target.timeout_s,
        look_for_keys=keys is None and target.password is None,
        allow_agent=keys is None and target.password is None,
    )
    return client


def collect(target: Target, resolve_names: list[str]) -> Facts:
    clients: list[paramiko.SSHClient] = []
    try:
        client = _connect(target, clients)
        script = _SCRIPT.replace("@NAMES@", " ".join(shlex.quote(n) for n in resolve_names))
        before = time.time()
        _stdin, stdout, _stderr = client.exec_command("sh -s", timeout=target.timeout_s)
        stdout.channel.sendall(script.encode())
        stdout.channel.shutdown_write()
        output = stdout.read().decode(errors="replace")
        after = time.time()
    except HopFailed as exc:
        return Facts(target.name, error=str(exc))
    except paramiko.BadHostKeyException:
        return Facts(target.name, error="host key does not match known_hosts (possible MITM; check and update it)")
    except paramiko.SSHException as exc:
        return Facts(target.name, error=_ssh_error(exc))
    except TimeoutError:
        return Facts(target.name, error=f"timed out connecting to {target.address}:{target.port}")
    except OSError as exc:
        return Facts(target.name, error=f"cannot connect to {target.address}:{target.port}: {exc.strerror or exc}")
    finally:
        for opened in reversed(clients):
            opened.close()
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    facts = Facts(target.name, values=values)
    try:
        remote = float(values["time"])
        facts.clock_skew_s = remote - (before + after) / 2
        facts.clock_uncertainty_s = (after - before) / 2
    except (KeyError, ValueError):
        pass
    return facts


def _ssh_error(exc: paramiko.SSHException) -> str:
    if isinstance(exc, paramiko.AuthenticationException):
        return "authentication failed (check ansible_user and ansible_ssh_private_key_file)"
    text = str(exc)
    if "not found in known_hosts" in text:
        return f"{text} (add its key to known_hosts, e.g. with ssh-keyscan)"
    return text or type(exc).__name__


def _load_host_keys(client: paramiko.SSHClient, target: Target) -> None:
    client.load_system_host_keys()
    for path in target.known_hosts_files:
        p = Path(path).expanduser()
        if p.is_file():
            client.load_host_keys(str(p))
    # Never persist keys we did not check; only accept unknown keys when the inventory turned
    # host key checking off, as Ansible would.
    policy = paramiko.RejectPolicy() if target.strict_host_keys else paramiko.WarningPolicy()
    client.set_missing_host_key_policy(policy)
