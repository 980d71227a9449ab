"""Jinja filters that let roles ask src/dockyard instead of re-implementing its logic.

Each takes ``groups`` first, then ``hostvars`` and the current host, and reads the platform spec
(the ``dockyard_*`` variables) from that host's variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from dockyard import service_names
from dockyard.problems import DockyardError
from dockyard.spec.model import Platform
from dockyard.spec.validate import build

Groups = Mapping[str, list[str]]


def _context(hostvars: Mapping[str, Any], host: str) -> tuple[Platform, str | None, Callable[[str], str]]:
    hv = hostvars[host]
    spec = {k: hv[k] for k in hv if str(k).startswith("dockyard_")}
    platform = build(spec)

    def address_of(name: str) -> str:
        other = hostvars[name]
        return str(other.get("dockyard_address") or other.get("ansible_host") or name)

    return platform, spec.get("dockyard_env"), address_of


def _guard(name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (DockyardError, KeyError) as exc:
        raise AnsibleFilterError(f"{name}: {exc} (run `invoke validate --env ENV`)") from None


def dockyard_service_addresses(groups: Groups, hostvars: Mapping[str, Any], host: str) -> dict[str, str]:
    """``{{ groups | dockyard_service_addresses(hostvars, inventory_hostname) }}`` -> {fqdn: ip}."""

    def run() -> dict[str, str]:
        platform, env, address_of = _context(hostvars, host)
        return service_names.service_addresses(platform, groups, address_of, env)

    return _guard("dockyard_service_addresses", run)


def dockyard_cert_requests(groups: Groups, hostvars: Mapping[str, Any], host: str) -> list[dict[str, Any]]:
    """The server certificates the internal CA issues: [{name, dns_names, ip_addresses}]."""

    def run() -> list[dict[str, Any]]:
        platform, env, address_of = _context(hostvars, host)
        return [
            {"name": r.name, "dns_names": list(r.dns_names), "ip_addresses": list(r.ip_addresses)}
            for r in service_names.cert_requests(platform, groups, address_of, env)
        ]

    return _guard("dockyard_cert_requests", run)


def dockyard_internal_registries(groups: Groups, hostvars: Mapping[str, Any], host: str) -> list[str]:
    """Registries the platform runs itself (Harbor, the mirror's), as host[:port]."""

    def run() -> list[str]:
        platform, _env, _address_of = _context(hostvars, host)
        return service_names.internal_registries(platform, groups)

    return _guard("dockyard_internal_registries", run)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "dockyard_service_addresses": dockyard_service_addresses,
            "dockyard_cert_requests": dockyard_cert_requests,
            "dockyard_internal_registries": dockyard_internal_registries,
        }
