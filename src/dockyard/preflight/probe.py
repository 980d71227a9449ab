"""Collect the facts preflight needs from one host, over one SSH session (paramiko).

A single shell script runs per host and prints ``key=value`` lines, so a host costs one
connection and one round trip whatever the number of checks.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

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


@dataclass
class Facts:
    host: str
    error: str | None = None  # set when SSH itself failed
    values: dict[str, str] = field(default_factory=dict)
    clock_skew_s: float | None = None
    clock_uncertainty_s: float | None = None


def collect(target: Target, resolve_names: list[str]) -> Facts:
    client = paramiko.SSHClient()
    try:
        _load_host_keys(client, target)
        client.connect(
            hostname=target.address,
            port=target.port,
            username=target.user,
            key_filename=os.path.expanduser(target.key_file) if target.key_file else None,
            password=target.password,
            timeout=target.timeout_s,
            banner_timeout=target.timeout_s,
            auth_timeout=target.timeout_s,
            look_for_keys=target.key_file is None and target.password is None,
            allow_agent=target.key_file is None and target.password is None,
        )
        script = _SCRIPT.replace("@NAMES@", " ".join(shlex.quote(n) for n in resolve_names))
        before = time.time()
        _stdin, stdout, _stderr = client.exec_command("sh -s", timeout=target.timeout_s)
        stdout.channel.sendall(script.encode())
        stdout.channel.shutdown_write()
        output = stdout.read().decode(errors="replace")
        after = time.time()
    except paramiko.BadHostKeyException:
        return Facts(target.name, error="host key does not match known_hosts (possible MITM; check and update it)")
    except paramiko.SSHException as exc:
        return Facts(target.name, error=_ssh_error(exc))
    except TimeoutError:
        return Facts(target.name, error=f"timed out connecting to {target.address}:{target.port}")
    except OSError as exc:
        return Facts(target.name, error=f"cannot connect to {target.address}:{target.port}: {exc.strerror or exc}")
    finally:
        client.close()
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
