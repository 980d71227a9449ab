"""The platform spec out of a play's variables, for Dockyard's Ansible plugins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dockyard import catalogue
from dockyard.spec.model import Platform
from dockyard.spec.validate import build


def spec_from(variables: Mapping[str, Any], template: Callable[[Any], Any]) -> dict[str, Any]:
    """Every ``dockyard_*`` variable, templated (inventory, vars files and extra vars alike), with
    ``dockyard_catalogue`` the product's catalogue merged with the inventory's overrides."""
    spec = {str(k): template(v) for k, v in variables.items() if str(k).startswith("dockyard_")}
    spec["dockyard_catalogue"] = catalogue.merged(spec.get("dockyard_catalogue"))
    return spec


def has_mirror(groups: Mapping[str, Any]) -> bool:
    return bool(groups.get("mirror"))


def mirror_facts(platform: Platform, groups: Mapping[str, Any]) -> dict[str, Any]:
    """The mirror's names as roles need them; empty names when the inventory has no mirror host."""
    present = has_mirror(groups)
    return {
        "present": present,
        "fqdn": platform.mirror_fqdn,
        "port": platform.mirror_registry_port,
        "registry": platform.mirror_registry if present else "",
    }


__all__ = ["build", "has_mirror", "mirror_facts", "spec_from"]
