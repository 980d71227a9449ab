"""GitLab's required upgrade stops: from the installed package version to the catalogue's.

Rules (docs.gitlab.com update/upgrade_paths; omnibus-gitlab's pre-install refuses a skipped stop):

* the stops are GitLab's ``config/upgrade_path.yml`` (``data/gitlab_upgrade_path.yml``), and from
  17.5 on every X.2, X.5, X.8 and X.11 (the file says so and ends before the newest releases);
* every minor that is a stop strictly between the installed and the target minor is a hop, taken
  at the newest patch of that minor the catalogue carries; the target is the last hop;
* a downgrade, an edition change, a version that does not parse, one older than the first stop,
  or a stop the catalogue has no package for is refused (:class:`UpgradeRefused`) before anything
  changes.

Versions are Debian package versions of gitlab-ce / gitlab-ee: ``19.3.0-ce.0``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from dockyard.problems import DockyardError

UPGRADE_PATH = Path(__file__).resolve().parent.parent / "data" / "gitlab_upgrade_path.yml"
REGULAR_FROM = (17, 5)  # from here on, stops land on X.2, X.5, X.8 and X.11
REGULAR_MINORS = (2, 5, 8, 11)
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)-(ce|ee)\.(\d+)$")


class UpgradeRefused(DockyardError):
    """The version change is not allowed or cannot be planned; nothing was changed."""


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    revision: int
    edition: str

    @property
    def minor_key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}-{self.edition}.{self.revision}"


def parse(text: str) -> Version:
    match = _VERSION.match(text.strip())
    if not match:
        raise UpgradeRefused(
            f"gitlab: version '{text}' is not a GitLab package version such as 19.3.0-ce.0 "
            f"(check dockyard_catalogue.gitlab.version, or what dpkg reports on the host)"
        )
    major, minor, patch, edition, revision = match.groups()
    return Version(int(major), int(minor), int(patch), int(revision), edition)


@cache
def _listed_stops() -> tuple[tuple[int, int], ...]:
    with UPGRADE_PATH.open(encoding="utf-8") as fh:
        entries = yaml.safe_load(fh)
    return tuple(sorted((int(e["major"]), int(e["minor"])) for e in entries))


def required_stops(up_to_major: int) -> list[tuple[int, int]]:
    """Every required stop (major, minor) known, through the given major."""
    stops = set(_listed_stops())
    for major in range(REGULAR_FROM[0], up_to_major + 1):
        stops.update((major, m) for m in REGULAR_MINORS if (major, m) >= REGULAR_FROM)
    return sorted(s for s in stops if s[0] <= up_to_major)


@dataclass(frozen=True)
class Hop:
    version: str
    reason: str  # "required stop 18.5" or "target"


def plan(installed: str, target: str, available: Iterable[str]) -> list[Hop]:
    """The hops from ``installed`` (empty: nothing installed yet) to ``target``; ``[]`` when there
    is nothing to do or it is a fresh install. ``available``: the package versions the catalogue
    carries for this edition, OS and architecture (the target among them)."""
    goal = parse(target)
    if not installed.strip():
        return []
    have = parse(installed)
    if have.edition != goal.edition:
        raise UpgradeRefused(
            f"gitlab: installed {have} is GitLab {have.edition.upper()}, the catalogue asks for {goal}: "
            f"Dockyard does not switch editions (set dockyard_catalogue.gitlab.edition: {have.edition})"
        )
    if have == goal:
        return []
    if goal < have:
        raise UpgradeRefused(
            f"gitlab: downgrade refused: {have} is installed, the catalogue pins {goal} (GitLab cannot go "
            f"back; a backup restores only onto its own version: pin {have} or newer)"
        )
    stops = required_stops(goal.major)
    if have.minor_key < stops[0]:
        raise UpgradeRefused(
            f"gitlab: installed {have} is older than the first known required stop "
            f"{stops[0][0]}.{stops[0][1]}: no upgrade path is known (upgrade it by hand first)"
        )
    versions = [v for v in (parse(a) for a in available) if v.edition == goal.edition]
    hops: list[Hop] = []
    for stop in stops:
        if not have.minor_key < stop < goal.minor_key:
            continue
        candidates = [v for v in versions if v.minor_key == stop]
        if not candidates:
            raise UpgradeRefused(
                f"gitlab: upgrading {have} to {goal} needs required stop {stop[0]}.{stop[1]}, and the catalogue has "
                f"no gitlab-{goal.edition} {stop[0]}.{stop[1]}.x package (add an artefact of kind deb with version "
                f"{stop[0]}.{stop[1]}.<latest patch>-{goal.edition}.0 to dockyard_catalogue.gitlab.artefacts)"
            )
        hops.append(Hop(str(max(candidates)), f"required stop {stop[0]}.{stop[1]}"))
    hops.append(Hop(str(goal), "target"))
    return hops
