"""The platform's service names: which host serves each (for /etc/hosts when there is no DNS),
which server certificates the internal CA issues, and which registries are internal."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dockyard.inventory import LoadedInventory
from dockyard.pki import CertRequest
from dockyard.problems import InvalidInput
from dockyard.spec.model import Platform


def service_addresses(
    platform: Platform,
    groups: Mapping[str, Sequence[str]],
    address_of: Callable[[str], str],
    env: str | None,
) -> dict[str, str]:
    """Map each platform service FQDN to the IP address of the host that serves it.

    A tool installed by Dockyard is served by the first host of its group; an external tool has no
    entry (its DNS is the operator's). Argo CD of the environment answers on the first control-plane
    host (where its ingress is published).
    """
    wanted: list[tuple[str, str]] = []
    for name, tool in platform.tools.items():
        if tool.mode == "install":
            wanted.append((platform.tool_hostname(name), name))
    wanted.append((platform.mirror_fqdn, "mirror"))
    if env:
        wanted.append((platform.argocd_hostname(env), "kube_control_plane"))
    result: dict[str, str] = {}
    for fqdn, group in wanted:
        members = list(groups.get(group) or [])
        if not members:
            continue
        result[fqdn] = _ip(members[0], address_of(members[0]))
    return dict(sorted(result.items()))


def addresses_without_dns(inv: LoadedInventory, platform: Platform, env: str | None) -> dict[str, str]:
    """With ``dockyard_dns`` false, each service name's address from the inventory (what the hosts'
    /etc/hosts gets, what Argo CD's pods and the controller resolve); with DNS, nothing."""
    if platform.dns:
        return {}

    def address_of(host: str) -> str:
        h = inv.hosts[host]
        return str(h.get("dockyard_address") or h.address)

    return service_addresses(platform, inv.groups, address_of, env)


def _ip(host: str, address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise InvalidInput(
            f"{host}: dockyard_address: '{address}' is not an IP address "
            f"(set dockyard_address to the host's IP when dockyard_dns is false)"
        ) from None


def cert_requests(
    platform: Platform,
    groups: Mapping[str, Sequence[str]],
    address_of: Callable[[str], str],
    env: str | None,
) -> list[CertRequest]:
    """A server certificate for every service name of the spec in this environment.

    Names served by a host of the inventory also carry that host's IP address as a SAN, so the
    service answers with a valid certificate when reached by address.
    """
    served = service_addresses(platform, groups, address_of, env)
    names = set(served)
    if env:
        names.add(platform.argocd_hostname(env))
        for project in platform.projects_in(env):
            names.update(platform.service_hostname(project, s, env) for s in project.services)
    return [
        CertRequest(name=name, dns_names=(name,), ip_addresses=(served[name],) if name in served else ())
        for name in sorted(names)
    ]


def internal_registries(platform: Platform, groups: Mapping[str, Sequence[str]]) -> list[str]:
    """Registries the platform runs itself (Harbor, the mirror's), as ``host[:port]``."""
    registries = []
    if platform.tools["harbor"].mode == "install" and groups.get("harbor"):
        registries.append(platform.tool_hostname("harbor"))
    if groups.get("mirror"):
        registries.append(platform.mirror_registry)
    return registries


@contextmanager
def resolved_from_inventory(addresses: Mapping[str, str]) -> Iterator[None]:
    """Inside: this process resolves the platform's service names to the serving hosts' addresses,
    as the hosts' /etc/hosts does when ``dockyard_dns`` is false; every other name as usual. URLs,
    SNI, Host headers and certificate checks keep the names (the controller's /etc/hosts is not the
    operator's to edit)."""
    if not addresses:
        yield
        return
    wanted = {name.lower(): ip for name, ip in addresses.items()}
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower().rstrip(".") in wanted:
            return original(wanted[name.lower().rstrip(".")], *args, **kwargs)
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original
