"""The closing summary of ``invoke bootstrap``: endpoints, versions, where each credential lives
(vault key, never the value), what was not done and why, and the time per phase.

How parts feed it:

* every phase's plays are timed by the ``dockyard_phases`` callback (``plugins/callback``), which
  writes a JSON report to the file named by ``$DOCKYARD_PHASE_REPORT`` while ansible-playbook runs;
* a phase that does not do something the spec asks for says so machine-readably with
  ``ansible.builtin.set_stats: {data: {dockyard_skipped: [{phase, part, reason}]}}`` (see the argocd
  role); the callback puts those items in the report;
* a phase that kept objects because seed has not stored their credentials yet asks to run again after
  seed with ``set_stats`` data ``dockyard_after_seed: [{phase, objects}]`` (the argocd role): the
  report's ``after_seed``, which ``invoke bootstrap`` acts on once seed has run;
* Python steps (seed) call :meth:`Summary.skip`;
* :func:`unplanned_parts` adds what the spec asks for that no phase of this version does (a tool in
  ``mode: install`` without an install phase).

Anything skipped makes the bootstrap incomplete: exit 1, unless the operator allowed a partial run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.spec.model import Platform

REPORT_ENV = "DOCKYARD_PHASE_REPORT"
SKIP_STAT = "dockyard_skipped"
AFTER_SEED_STAT = "dockyard_after_seed"
EXIT_INCOMPLETE = 1


@dataclass(frozen=True)
class Skipped:
    phase: str
    part: str
    reason: str


@dataclass(frozen=True)
class PhaseRun:
    name: str
    seconds: float
    hosts: int | None  # hosts the phase's plays ran on; 0: nothing to do here; None: runs on the controller


@dataclass
class Summary:
    env: str
    check: bool = False
    phases: list[PhaseRun] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    not_selected: list[str] = field(default_factory=list)  # phases left out by --tags
    endpoints: list[tuple[str, str]] = field(default_factory=list)
    versions: list[tuple[str, str]] = field(default_factory=list)
    credentials: list[tuple[str, str]] = field(default_factory=list)  # (vault key, vault file)

    def skip(self, phase: str, part: str, reason: str) -> None:
        item = Skipped(phase, part, reason)
        if item not in self.skipped:
            self.skipped.append(item)

    def add_phases(self, runs: Iterable[PhaseRun]) -> None:
        """Add one playbook run's phase times. A bootstrap with a bundle runs the playbook in stages
        (the phases up to the mirror, then the rest), and each stage reports every phase, the ones its
        tags left out with no hosts: per phase, the times add up and the hosts are the most any stage
        ran it on, so each phase is listed once and "nothing to do" only when no stage had a host."""
        for run in runs:
            known = next((i for i, p in enumerate(self.phases) if p.name == run.name), None)
            if known is None:
                self.phases.append(run)
                continue
            old = self.phases[known]
            hosts = None if old.hosts is None or run.hosts is None else max(old.hosts, run.hosts)
            self.phases[known] = PhaseRun(run.name, old.seconds + run.seconds, hosts)

    @property
    def incomplete(self) -> bool:
        return bool(self.skipped)

    def exit_code(self, allow_partial: bool) -> int:
        return EXIT_INCOMPLETE if self.incomplete and not allow_partial else 0

    def lines(self, allow_partial: bool) -> list[str]:
        out = [f"summary of {'plan' if self.check else 'bootstrap'} for env {self.env}:"]
        out.append("  endpoints:")
        out += [f"    {name}: {url}" for name, url in self.endpoints] or ["    none"]
        out.append("  versions:")
        out += [f"    {name}: {version}" for name, version in self.versions] or ["    none in the catalogue"]
        out.append("  credentials (vault keys; values are never shown):")
        out += [f"    {key}  in {file}" for key, file in self.credentials] or ["    none stored yet"]
        out.append("  time per phase:")
        for run in self.phases:
            note = "  (nothing to do: no hosts in its groups)" if run.hosts == 0 else ""
            out.append(f"    {run.name:14} {run.seconds:7.1f}s{note}")
        out += [f"    {name:14}     -    (not selected by --tags)" for name in self.not_selected]
        if not self.phases and not self.not_selected:
            out.append("    no phase ran")
        out.append("  not done:" if self.skipped else "  not done: nothing")
        out += [f"    {s.phase}: {s.part}: {s.reason}" for s in self.skipped]
        verb = "plan" if self.check else "bootstrap"
        if not self.skipped:
            out.append(f"{verb} COMPLETE: env {self.env}")
        elif allow_partial:
            out.append(f"{verb} PARTIAL (allowed by --allow-partial): {len(self.skipped)} part(s) not done")
        else:
            out.append(
                f"{verb} INCOMPLETE: {len(self.skipped)} part(s) not done "
                f"(exit {EXIT_INCOMPLETE}; pass --allow-partial to accept a partial platform)"
            )
        return out


@dataclass(frozen=True)
class PhaseReport:
    """One playbook run as the dockyard_phases callback recorded it."""

    runs: list[PhaseRun] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    after_seed: dict[str, int] = field(default_factory=dict)  # phase -> objects waiting on seed's credentials


def read_phase_report(path: Path) -> PhaseReport:
    """What the dockyard_phases callback recorded; nothing when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return PhaseReport()
    runs = [
        PhaseRun(str(p.get("phase", "?")), float(p.get("seconds", 0.0)), int(p.get("hosts", 0)))
        for p in data.get("phases", [])
        if isinstance(p, dict)
    ]
    skipped = [
        Skipped(str(s.get("phase", "?")), str(s.get("part", "?")), str(s.get("reason", "no reason given")))
        for s in data.get("skipped", [])
        if isinstance(s, dict)
    ]
    return PhaseReport(runs, skipped, _after_seed(data.get("after_seed", [])))


def _after_seed(items: Any) -> dict[str, int]:
    """The phases asked to run again after seed, with the objects each has waiting (added up per phase)."""
    wanted: dict[str, int] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("phase"):
            objects = str(item.get("objects", "0"))
            phase = str(item["phase"])
            wanted[phase] = wanted.get(phase, 0) + (int(objects) if objects.isdigit() else 0)
    return wanted


def unplanned_parts(platform: Platform, phases: Sequence[str], root: Path | None = None) -> list[Skipped]:
    """Tools in ``mode: install`` that this version cannot install: no tools phase in
    ``playbooks/bootstrap.yml``, or no role for the tool (``roles/tools/<tool>``, as the phase looks)."""
    out = []
    for name, tool in platform.tools.items():
        if tool.mode != "install":
            continue
        if "tools" not in phases and name not in phases:
            reason = "playbooks/bootstrap.yml has no phase that installs it in this version"
        elif root is not None and not any((root / "roles" / sub / name).is_dir() for sub in ("tools", ".")):
            reason = f"the tools phase has no role roles/tools/{name} in this version"
        else:
            continue
        out.append(
            Skipped(
                "tools",
                name,
                f"mode install, but {reason} (use dockyard_tools.{name}.mode: external with an existing one's url)",
            )
        )
    return out


def endpoints(platform: Platform, env: str, has_mirror: bool) -> list[tuple[str, str]]:
    found = [(name, platform.tool_url(name)) for name in platform.tools]
    found.append((f"argocd ({env})", f"https://{platform.argocd_hostname(env)}"))
    if has_mirror:
        found.append(("mirror registry", f"https://{platform.mirror_registry}"))
    return found


def versions(catalogue: Any) -> list[tuple[str, str]]:
    if not isinstance(catalogue, dict):
        return []
    return sorted(
        (str(name), str(entry["version"]))
        for name, entry in catalogue.items()
        if isinstance(entry, dict) and entry.get("version")
    )


def credentials(keys: Iterable[str], vault_file: Path) -> list[tuple[str, str]]:
    try:
        shown = vault_file.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = vault_file
    return [(key, str(shown)) for key in sorted(keys)]


class PhaseRecorder:
    """What the dockyard_phases callback keeps while ansible-playbook runs: each phase's time and
    hosts (plays of one phase added up), and the skipped items phases report with set_stats."""

    def __init__(self, path: Path, clock: Any) -> None:
        self.path = path
        self._clock = clock
        self._seconds: dict[str, float] = {}
        self._hosts: dict[str, set[str]] = {}
        self._current: str | None = None
        self._started = 0.0

    def play_start(self, phase: str) -> None:
        self._close()
        self._current, self._started = phase, self._clock()
        self._seconds.setdefault(phase, 0.0)
        self._hosts.setdefault(phase, set())

    def host_result(self, host: str) -> None:
        if self._current is not None:
            self._hosts[self._current].add(host)

    def finish(self, custom_stats: Any) -> None:
        self._close()
        doc = {
            "phases": [
                {"phase": name, "seconds": round(seconds, 3), "hosts": len(self._hosts[name])}
                for name, seconds in self._seconds.items()
            ],
            "skipped": _stat_items(custom_stats, SKIP_STAT, unique=True),
            "after_seed": _stat_items(custom_stats, AFTER_SEED_STAT, unique=False),
        }
        self.path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    def _close(self) -> None:
        if self._current is not None:
            self._seconds[self._current] += self._clock() - self._started
            self._current = None


def _stat_items(custom_stats: Any, name: str, *, unique: bool) -> list[dict[str, str]]:
    """The items of one set_stats list over every host's custom stats (each once when ``unique``)."""
    found: list[dict[str, str]] = []
    for per_host in (custom_stats or {}).values():
        items = per_host.get(name) if isinstance(per_host, dict) else None
        for item in items if isinstance(items, list) else []:
            plain = {str(k): str(v) for k, v in item.items()} if isinstance(item, dict) else None
            if plain is not None and not (unique and plain in found):
                found.append(plain)
    return found


def phase_of(play_path: str | None, play_name: str) -> str:
    """A play's phase: the stem of the playbook file it is written in (playbooks/<phase>.yml)."""
    if play_path:
        return Path(play_path.rsplit(":", 1)[0]).stem
    return play_name.removeprefix("Phase ").strip() or "unnamed"
