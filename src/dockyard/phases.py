"""The bootstrap's phases, read from ``playbooks/bootstrap.yml`` (never a copy of its list), and
the check of ``--tags`` / ``--limit`` against them before any playbook starts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dockyard.problems import InvalidInput

BOOTSTRAP = "bootstrap.yml"
ANSIBLE_SPECIAL_TAGS = frozenset({"all", "always", "never", "tagged", "untagged"})


@dataclass(frozen=True)
class Phase:
    name: str  # the playbook's stem, which is also its tag
    playbook: Path
    tags: frozenset[str]  # every tag its plays and roles declare (the phase's own among them)


def phases(root: Path, playbook: str = BOOTSTRAP) -> list[Phase]:
    """The phases ``playbooks/<playbook>`` imports, in order."""
    path = root / "playbooks" / playbook
    found = []
    for entry in _plays(path):
        target = entry.get("ansible.builtin.import_playbook") or entry.get("import_playbook")
        if not isinstance(target, str):
            continue
        phase_path = (path.parent / target).resolve()
        tags = set(_as_list(entry.get("tags")))
        for play in _plays(phase_path):
            tags.update(_play_tags(play))
        name = Path(target).stem
        found.append(Phase(name, phase_path, frozenset({name, *tags})))
    return found


def _plays(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: (file): cannot read the playbook: {exc} (restore it from git)") from None
    return [p for p in data if isinstance(p, dict)] if isinstance(data, list) else []


def _play_tags(play: dict[str, Any]) -> Iterator[str]:
    yield from _as_list(play.get("tags"))
    for role in play.get("roles") or []:
        if isinstance(role, dict):
            yield from _as_list(role.get("tags"))
    for section in ("pre_tasks", "tasks", "post_tasks"):
        for task in play.get(section) or []:
            if isinstance(task, dict):
                yield from _as_list(task.get("tags"))


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list):
        return [str(t) for t in value]
    return []


def check_tags(root: Path, tags: str | None, option: str = "--tags") -> list[str]:
    """The tags asked for, each known to a phase of the bootstrap; else one clear error."""
    if tags is None:
        return []
    wanted = [t.strip() for t in tags.split(",")]
    known = phases(root)
    names = [p.name for p in known]
    allowed = ANSIBLE_SPECIAL_TAGS.union(*(p.tags for p in known))
    if not wanted or any(not t for t in wanted):
        raise InvalidInput(f"{option} {tags!r}: empty tag (give phases separated by commas: {', '.join(names)})")
    unknown = [t for t in wanted if t not in allowed]
    if unknown:
        raise InvalidInput(
            f"{option} {','.join(unknown)}: no such phase or tag in playbooks/{BOOTSTRAP} "
            f"(phases, in order: {', '.join(names)})"
        )
    return wanted


def check_limit(limit: str | None, hosts: Iterable[str], groups: Iterable[str]) -> None:
    """A plain ``--limit`` name (no pattern) must be a host or group of the inventory: Ansible would
    otherwise match nothing and report nothing to do."""
    if limit is None:
        return
    host_names = sorted(hosts)
    names = set(host_names) | set(groups)
    for part in limit.replace(";", ",").replace(":", ",").split(","):
        word = part.strip().lstrip("!&")
        if not word or any(c in word for c in "*?[]~@"):
            continue  # a pattern, a regex or a file: Ansible's to resolve
        if word not in names:
            raise InvalidInput(
                f"--limit {word}: no such host or group in this environment's inventory "
                f"(hosts: {', '.join(host_names) or 'none'})"
            )
