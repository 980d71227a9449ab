"""STAND-IN support library (Dockyard tests only; never part of the product).

Every stand-in package carries this file at /usr/lib/dockyard-standin/standin_lib.py and its
executables start with::

    import sys; sys.path.insert(0, "/usr/lib/dockyard-standin")
    import standin_lib as s
    cmd = s.parse("kubeadm", sys.argv[1:], SPEC)   # refuses what the upstream reference does not document

Calls are recorded, one JSON line each, in /var/log/dockyard-standin/calls.jsonl, so tests can
assert order and arguments. Standard library only: it runs on the target host's python3.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

LOG = os.environ.get("DOCKYARD_STANDIN_LOG", "/var/log/dockyard-standin/calls.jsonl")
# The pod sandboxes the stand-in kubelet runs, one <id>.json each; crictl stopp asks for a stop with
# <id>.stop, and the kubelet removes both once it has stopped what runs there.
SANDBOXES = os.path.join(os.environ.get("DOCKYARD_STANDIN_ROOT", "/"), "run/dockyard-standin/pods")


def record(tool: str, argv: list[str], **extra: Any) -> None:
    """Append one call to the log (the file is shared by every stand-in on the host)."""
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    entry = {"tool": tool, "argv": list(argv), "time": time.time(), "cwd": os.getcwd(), **extra}
    with open(LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def unsupported(what: str) -> NoReturn:
    print(f"stand-in: unsupported {what}", file=sys.stderr)
    sys.exit(2)


def fail(message: str, code: int = 1) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(code)


@dataclass
class Command:
    """A parsed call: the documented subcommand, its flags and positional arguments."""

    tool: str
    subcommand: str
    flags: dict[str, Any] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)

    def flag(self, name: str, default: Any = None) -> Any:
        return self.flags.get(name, default)


def parse(tool: str, argv: list[str], spec: dict[str, Any], *, log: bool = True) -> Command:
    """Match ``argv`` against ``spec`` and record the call; refuse anything undocumented.

    ``spec`` maps each documented subcommand (space-separated words; "" for a tool without
    subcommands) to ``{"flags": {flag: takes_value (bool), ...}, "args": (min, max)}``; a key
    ``"*global*"`` lists flags every subcommand accepts. Flags may be written ``--f v`` or
    ``--f=v``; a flag that takes a value and is repeated is collected into a list.
    """
    if log:
        record(tool, argv)
    global_flags: dict[str, bool] = dict((spec.get("*global*") or {}).get("flags", {}))
    words: list[str] = []
    rest = list(argv)
    commands = [c for c in spec if c != "*global*"]
    while (
        rest and not rest[0].startswith("-") and any(c.split()[: len(words) + 1] == [*words, rest[0]] for c in commands)
    ):
        words.append(rest.pop(0))
    subcommand = " ".join(words)
    if subcommand not in spec or subcommand == "*global*":
        unsupported(f"{tool} subcommand {' '.join(argv[:3])!r}")
    entry = spec[subcommand]
    allowed = {**global_flags, **entry.get("flags", {})}
    cmd = Command(tool, subcommand)
    while rest:
        item = rest.pop(0)
        if item == "--":
            cmd.args.extend(rest)
            break
        if not item.startswith("-") or item == "-":
            cmd.args.append(item)
            continue
        name, eq, value = item.partition("=")
        if name not in allowed:
            unsupported(f"{tool} {subcommand} flag {name}")
        if allowed[name]:
            if not eq:
                if not rest:
                    unsupported(f"{tool} {subcommand} flag {name} without a value")
                value = rest.pop(0)
            previous = cmd.flags.get(name)
            cmd.flags[name] = value if previous is None else [*_as_list(previous), value]
        else:
            if eq and value not in ("true", "false"):
                unsupported(f"{tool} {subcommand} flag {name}={value}")
            cmd.flags[name] = value != "false"
    low, high = entry.get("args", (0, 0))
    if not low <= len(cmd.args) <= high:
        unsupported(f"{tool} {subcommand} with {len(cmd.args)} argument(s) (documented: {low} to {high})")
    return cmd


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def read_calls(text: str) -> list[dict[str, Any]]:
    """The call log's entries (for tests, which read the log off the host)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def new_sandbox(name: str, namespace: str = "kube-system") -> str:
    """Record a new sandbox for pod ``name``; its ID, as crictl lists it."""
    pod_id = os.urandom(32).hex()
    os.makedirs(SANDBOXES, exist_ok=True)
    with open(os.path.join(SANDBOXES, f"{pod_id}.json"), "w", encoding="utf-8") as fh:
        json.dump({"id": pod_id, "name": name, "namespace": namespace}, fh)
    return pod_id


def sandboxes() -> list[dict[str, str]]:
    if not os.path.isdir(SANDBOXES):
        return []
    found = []
    for entry in sorted(os.listdir(SANDBOXES)):
        if entry.endswith(".json"):
            with open(os.path.join(SANDBOXES, entry), encoding="utf-8") as fh:
                found.append(json.load(fh))
    return found


def sandbox_exists(pod_id: str) -> bool:
    return os.path.exists(os.path.join(SANDBOXES, f"{pod_id}.json"))


def request_stop(pod_id: str) -> None:
    open(os.path.join(SANDBOXES, f"{pod_id}.stop"), "w").close()


def take_stop_request(pod_id: str) -> bool:
    """True once, when a stop of ``pod_id`` was asked for: the sandbox is then removed (the caller
    stops what runs in it)."""
    stop = os.path.join(SANDBOXES, f"{pod_id}.stop")
    if not os.path.exists(stop):
        return False
    for path in (os.path.join(SANDBOXES, f"{pod_id}.json"), stop):
        if os.path.exists(path):
            os.unlink(path)
    return True
