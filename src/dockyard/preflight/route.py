"""How to reach a host the way Ansible's ssh connection does: the inventory's connection variables
first (they become ssh command-line options), then the operator's ``~/.ssh/config``.

Understood: ``ansible_host``/``port``/``user``/``ssh_private_key_file``, and in
``ansible_ssh_common_args``/``ansible_ssh_extra_args`` the options ``-o ProxyJump=``, ``-J``,
``-o ProxyCommand=``, ``-o UserKnownHostsFile=``, ``-o StrictHostKeyChecking=``, ``-o Port=``,
``-o User=``, ``-o IdentityFile=``, ``-p``, ``-l``, ``-i``; in ``~/.ssh/config`` (paramiko's
:class:`~paramiko.SSHConfig`): HostName, Port, User, IdentityFile, ProxyJump, ProxyCommand,
UserKnownHostsFile, StrictHostKeyChecking. Each ProxyJump hop is looked up in the config too.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

from dockyard.problems import InvalidInput

SSH_CONFIG_ENV = "DOCKYARD_SSH_CONFIG"  # another ssh config file than ~/.ssh/config (tests, CI)


@dataclass(frozen=True)
class Hop:
    """One ssh connection: the target itself or a jump host on the way."""

    host: str
    port: int = 22
    user: str | None = None
    key_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    target: Hop
    jumps: tuple[Hop, ...] = ()
    proxy_command: str | None = None
    known_hosts_files: tuple[str, ...] = ()
    strict_host_keys: bool | None = None  # None: as ansible.cfg / the inventory say
    notes: tuple[str, ...] = field(default=())


def ssh_config() -> paramiko.SSHConfig:
    path = Path(os.environ.get(SSH_CONFIG_ENV) or "~/.ssh/config").expanduser()
    if not path.is_file():
        return paramiko.SSHConfig()
    try:
        return paramiko.SSHConfig.from_path(str(path))
    except (OSError, paramiko.ssh_exception.ConfigParseError) as exc:
        raise InvalidInput(f"{path}: (file): cannot read the ssh config: {exc} (fix it as ssh would)") from None


def options(args: str) -> dict[str, str]:
    """ssh command-line options from Ansible's extra ssh arguments, lower-cased names."""
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise InvalidInput(f"ansible_ssh_common_args: {exc} (fix the quoting)") from None
    found: dict[str, str] = {}
    short = {"-J": "proxyjump", "-p": "port", "-l": "user", "-i": "identityfile"}
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-o" and i + 1 < len(words):
            option, i = words[i + 1], i + 1
        elif word.startswith("-o") and len(word) > 2:
            option = word[2:]
        elif word in short and i + 1 < len(words):
            found.setdefault(short[word], words[i + 1])
            i += 2
            continue
        else:
            i += 1
            continue
        key, sep, value = option.partition("=")
        if not sep:
            key, _, value = option.partition(" ")
        found.setdefault(key.strip().lower(), value.strip())  # ssh: the first value given wins
        i += 1
    return found


def route(
    address: str,
    *,
    port: int | None,
    user: str | None,
    key_file: str | None,
    args: str,
    config: paramiko.SSHConfig,
) -> Route:
    given = options(args)
    looked = config.lookup(address)
    target = Hop(
        host=looked.get("hostname", address),
        port=int(port or given.get("port") or looked.get("port") or 22),
        user=user or given.get("user") or looked.get("user"),
        key_files=_keys(key_file or given.get("identityfile"), looked),
    )
    jump_spec = given.get("proxyjump") or looked.get("proxyjump")
    command = given.get("proxycommand") or (None if "proxyjump" in given else looked.get("proxycommand"))
    jumps: tuple[Hop, ...] = ()
    if jump_spec and jump_spec.lower() != "none":
        jumps = tuple(_hop(spec, config) for spec in jump_spec.split(","))
        command = None  # ProxyJump wins when both are given on one command line
    elif command and command.lower() != "none":
        command = _expand(command, target)
    else:
        command = None
    known = tuple(given.get("userknownhostsfile", "").split()) or tuple(looked.get("userknownhostsfile", "").split())
    strict = given.get("stricthostkeychecking") or looked.get("stricthostkeychecking")
    return Route(
        target=target,
        jumps=jumps,
        proxy_command=command,
        known_hosts_files=known,
        strict_host_keys=None if strict is None else strict.lower() not in ("no", "off", "accept-new"),
    )


def _keys(explicit: str | None, looked: Any) -> tuple[str, ...]:
    if explicit:
        return (os.path.expanduser(explicit),)
    return tuple(os.path.expanduser(k) for k in looked.get("identityfile", []))


def _hop(spec: str, config: paramiko.SSHConfig) -> Hop:
    """``[user@]host[:port]`` (or ``ssh://[user@]host[:port]``), completed from the ssh config."""
    text = spec.strip().removeprefix("ssh://")
    user, _, hostport = text.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest.removeprefix(":")
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    if not host or (port and not port.isdigit()):
        raise InvalidInput(f"ProxyJump {spec!r}: not [user@]host[:port] (fix ansible_ssh_common_args or ~/.ssh/config)")
    looked = config.lookup(host)
    return Hop(
        host=looked.get("hostname", host),
        port=int(port or looked.get("port") or 22),
        user=user or looked.get("user"),
        key_files=_keys(None, looked),
    )


def _expand(command: str, target: Hop) -> str:
    """OpenSSH's tokens in a ProxyCommand given on the command line: %h %p %r %%."""
    out, i = [], 0
    while i < len(command):
        if command[i] == "%" and i + 1 < len(command):
            token = command[i + 1]
            out.append(
                {"h": target.host, "p": str(target.port), "r": target.user or "", "%": "%"}.get(token, "%" + token)
            )
            i += 2
        else:
            out.append(command[i])
            i += 1
    return "".join(out)
