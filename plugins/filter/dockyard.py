"""Jinja filters that let roles ask src/dockyard instead of re-implementing its logic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from dockyard.problems import DockyardError
from dockyard.service_addresses import service_addresses
from dockyard.spec.validate import build


def _spec(hostvars: Mapping[str, Any], host: str) -> dict[str, Any]:
    hv = hostvars[host]
    return {k: hv[k] for k in hv if str(k).startswith("dockyard_")}


def dockyard_service_addresses(
    groups: Mapping[str, list[str]], hostvars: Mapping[str, Any], host: str
) -> dict[str, str]:
    """``{{ groups | dockyard_service_addresses(hostvars, inventory_hostname) }}`` -> {fqdn: ip}."""
    try:
        spec = _spec(hostvars, host)
        platform = build(spec)

        def address_of(name: str) -> str:
            hv = hostvars[name]
            return str(hv.get("dockyard_address") or hv.get("ansible_host") or name)

        return service_addresses(platform, groups, address_of, spec.get("dockyard_env"))
    except (DockyardError, KeyError) as exc:
        raise AnsibleFilterError(f"dockyard_service_addresses: {exc} (run `invoke validate --env ENV`)") from None


def dockyard_spec(hostvars: Mapping[str, Any], host: str) -> dict[str, Any]:
    """``{{ hostvars | dockyard_spec(inventory_hostname) }}`` -> the dockyard_* variables, without the vault."""
    return {k: v for k, v in _spec(hostvars, host).items() if k != "dockyard_secrets"}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"dockyard_service_addresses": dockyard_service_addresses, "dockyard_spec": dockyard_spec}
