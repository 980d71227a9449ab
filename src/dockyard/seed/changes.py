"""What a seed run did (or, in a dry run, would do): one row per object, plus skips and failures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "delete", "noop"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "noop")


@dataclass(frozen=True)
class Change:
    tool: str
    kind: str
    name: str
    action: Action
    detail: str = ""  # what differs, never a secret value

    def as_dict(self) -> dict[str, str]:
        return {"tool": self.tool, "kind": self.kind, "name": self.name, "action": self.action}


@dataclass(frozen=True)
class Skip:
    """Something seed did not do, and why: a tool it cannot reach, a secret not there yet, an
    object left in place because it is not in the spec and ``--prune`` was not given."""

    tool: str
    kind: str
    name: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"tool": self.tool, "kind": self.kind, "name": self.name, "reason": self.reason}


@dataclass
class Report:
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = Counter(c.action for c in self.changes)
        return {action: counts.get(action, 0) for action in ACTIONS}

    @property
    def writes(self) -> int:
        return sum(1 for c in self.changes if c.action != "noop")

    @property
    def complete(self) -> bool:
        """Everything the spec asks for was seeded (objects left for --prune do not count)."""
        return not self.failures and not any(s.kind != "not-in-spec" for s in self.skipped)

    def as_json(self, wiring: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "changes": [c.as_dict() for c in self.changes],
            "summary": self.summary(),
            "skipped": [s.as_dict() for s in self.skipped],
            "failures": list(self.failures),
            "dry_run": self.dry_run,
        }
        if wiring is not None:
            doc["wiring"] = wiring
        return doc

    def render(self) -> list[str]:
        lines = []
        width = max((len(c.kind) for c in self.changes), default=4)
        for c in self.changes:
            detail = f"  ({c.detail})" if c.detail and c.action != "noop" else ""
            lines.append(f"  {c.tool:8} {c.kind:{width}}  {c.action:6}  {c.name}{detail}")
        for s in self.skipped:
            lines.append(f"  {s.tool:8} {s.kind:{width}}  skip    {s.name}: {s.reason}")
        return lines

    def summary_line(self) -> str:
        s = self.summary()
        counts = ", ".join(f"{s[a]} {a}" for a in ACTIONS)
        verb = "would change" if self.dry_run else "changed"
        extra = []
        if self.skipped:
            extra.append(f"{len(self.skipped)} skipped")
        if self.failures:
            extra.append(f"{len(self.failures)} failed")
        tail = f"; {', '.join(extra)}" if extra else ""
        return f"{counts} ({verb} {self.writes}){tail}"


@dataclass
class Recorder:
    """What one reconciler hands its rows to. ``apply`` is False in a dry run: the reconciler
    still reads everything and records what it would do, but writes nothing."""

    tool: str
    report: Report
    apply: bool

    def record(self, kind: str, name: str, action: Action, detail: str = "") -> None:
        self.report.changes.append(Change(self.tool, kind, name, action, detail))

    def skip(self, kind: str, name: str, reason: str) -> None:
        self.report.skipped.append(Skip(self.tool, kind, name, reason))
