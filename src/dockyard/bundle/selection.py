"""Which catalogue artefacts a bundle carries: those of the phases an environment runs, for the
architectures of its hosts; never the OS's own packages (they come from the site's OS mirror)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dockyard import catalogue
from dockyard.inventory import LoadedInventory
from dockyard.problems import InvalidInput
from dockyard.spec.model import Platform
from dockyard.spec.schema import PHASE_NAMES

ARCH_INDEPENDENT = "all"  # Debian's name for a package that runs on every architecture (Jenkins' .deb)
ARCH_VAR = "dockyard_arch"  # host variable: amd64 (default) or arm64
DEFAULT_ARCH = "amd64"
ARCHES = ("amd64", "arm64")
TOOLS_PHASE = "tools"


@dataclass(frozen=True)
class Scope:
    env: str
    phases: frozenset[str]
    architectures: frozenset[str]
    external_tools: frozenset[str]  # tools the platform uses but does not install


def scope(inv: LoadedInventory, platform: Platform) -> Scope:
    arches = set()
    for host in inv.hosts.values():
        arch = host.get(ARCH_VAR, DEFAULT_ARCH)
        if arch not in ARCHES:
            raise InvalidInput(
                f"{inv.sources[-1]}: {host.name}: {ARCH_VAR}: {arch!r} is not one of {', '.join(ARCHES)} "
                f"(set the host's CPU architecture)"
            )
        arches.add(arch)
    external = frozenset(name for name, tool in platform.tools.items() if tool.mode != "install")
    return Scope(inv.env, frozenset(PHASE_NAMES), frozenset(arches or {DEFAULT_ARCH}), external)


def _needed(name: str, comp: dict[str, Any], art: catalogue.Artefact, s: Scope) -> bool:
    if art.kind not in catalogue.BUNDLED_KINDS:
        return False
    if art.arch and art.arch != ARCH_INDEPENDENT and art.arch not in s.architectures:
        return False
    phases = set(art.phases) & s.phases
    if phases == {TOOLS_PHASE} and any(name == t or name.startswith(f"{t}_") for t in s.external_tools):
        return False  # a tool the site runs itself ("external"): Dockyard installs nothing of it
    return bool(phases)


def artefacts(cat: dict[str, Any], s: Scope, only: Iterable[str] | None = None) -> list[catalogue.Artefact]:
    wanted = set(only or ())
    unknown = wanted - set(cat)
    if unknown:
        raise InvalidInput(
            f"--only: {', '.join(sorted(unknown))}: not in the catalogue (components: {', '.join(sorted(cat))})"
        )
    found = []
    for name, comp in sorted(cat.items()):
        if wanted and name not in wanted:
            continue
        for art_id in sorted((comp or {}).get("artefacts") or {}):
            art = catalogue.artefact(cat, name, art_id)
            if _needed(name, comp, art, s):
                found.append(art)
    return found
