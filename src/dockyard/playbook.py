"""Run ansible-playbook the same way an operator would, and summarise check-mode results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.problems import DockyardError


def ansible_env(root: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", str(root / "ansible.cfg"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra:
        env.update(extra)
    return env


def executable(name: str) -> str:
    """A tool from this Python's environment first (the venv), then PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise DockyardError(f"{name}: not found (run scripts/setup.sh, or activate the virtualenv)")
    return found


def command(
    root: Path,
    sources: Sequence[Path],
    playbook: str,
    *,
    check: bool = False,
    diff: bool = False,
    tags: str | None = None,
    skip_tags: str | None = None,
    limit: str | None = None,
    extra_vars: Mapping[str, Any] | None = None,
) -> list[str]:
    cmd = [executable("ansible-playbook")]
    for s in sources:
        cmd += ["-i", str(s)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if tags:
        cmd += ["--tags", tags]
    if skip_tags:
        cmd += ["--skip-tags", skip_tags]
    if limit:
        cmd += ["--limit", limit]
    if extra_vars:
        cmd += ["--extra-vars", json.dumps(dict(extra_vars))]
    cmd.append(str(root / "playbooks" / playbook))
    return cmd


def run(cmd: Sequence[str], root: Path, extra_env: Mapping[str, str] | None = None) -> int:
    return subprocess.call(list(cmd), cwd=root, env=ansible_env(root, extra_env))


@dataclass
class Plan:
    """What a check-mode run says would change."""

    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (play, task, host)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (task, host, message)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (host, what a planner said: upgrade hops)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    def render(self) -> str:
        lines: list[str] = []
        if self.changes:
            lines.append("would change:")
            lines += [f"  {host}: {play} / {task}" for play, task, host in self.changes]
        else:
            lines.append("would change: nothing")
        if self.failures:
            lines.append("would fail:")
            lines += [f"  {host}: {task}: {msg}" for task, host, msg in self.failures]
        if self.notes:
            lines.append("planned:")
            lines += [f"  {host}: {note}" for host, note in self.notes]
        lines.append("recap:")
        for host, s in sorted(self.stats.items()):
            lines.append(
                f"  {host}: ok={s.get('ok', 0)} changed={s.get('changed', 0)} "
                f"unreachable={s.get('unreachable', 0)} failed={s.get('failures', 0)} "
                f"skipped={s.get('skipped', 0)}"
            )
        return "\n".join(lines)


def parse_json_callback(text: str) -> Plan:
    """Read the output of the ansible.posix.json stdout callback (other callbacks may print after it)."""
    start = text.find("{")
    try:
        data = json.JSONDecoder().raw_decode(text[start:])[0] if start >= 0 else {}
    except json.JSONDecodeError as exc:
        raise DockyardError(f"could not read ansible-playbook's JSON output: {exc}") from None
    plan = Plan(stats=data.get("stats", {}))
    for play in data.get("plays", []):
        play_name = play.get("play", {}).get("name", "")
        for task in play.get("tasks", []):
            task_name = task.get("task", {}).get("name", "")
            for host, result in task.get("hosts", {}).items():
                if isinstance(result.get("dockyard_plan"), str):
                    plan.notes.append((host, result["dockyard_plan"]))
                if result.get("failed") or result.get("unreachable"):
                    plan.failures.append((task_name, host, _first_line(str(result.get("msg", "failed")))))
                elif result.get("changed"):
                    plan.changes.append((play_name, task_name, host))
    return plan


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
