"""The environment's cluster settings: networks and the API endpoint, with their defaults and checks.

``dockyard_cluster.pod_cidr`` / ``.service_cidr`` become kubeadm's ``networking.podSubnet`` /
``serviceSubnet`` and Calico's IP pool; they must not overlap each other, the hosts' addresses or the
API VIP. ``dockyard_kube_api_lb`` picks how the API endpoint is served:

* ``kube-vip``: a VIP (``dockyard_kube_api_vip``) held by the control planes (kube-vip static pod);
* ``haproxy-local``: a haproxy on every node listening on 127.0.0.1 (Kubespray's default);
* ``external``: the operator's load balancer at ``dockyard_kube_api_vip``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_POD_CIDR = "10.244.0.0/16"
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"  # kubeadm's own default serviceSubnet
DEFAULT_API_LB = "haproxy-local"


@dataclass(frozen=True)
class ClusterProblem:
    path: list[str | int]
    message: str
    fix: str


def networks(spec: Mapping[str, Any]) -> tuple[str, str]:
    cluster = spec.get("dockyard_cluster") or {}
    return str(cluster.get("pod_cidr", DEFAULT_POD_CIDR)), str(cluster.get("service_cidr", DEFAULT_SERVICE_CIDR))


def problems(spec: Mapping[str, Any], host_addresses: Mapping[str, str]) -> Iterator[ClusterProblem]:
    """Every cross-field problem with the cluster settings (the schema has checked the types)."""
    cluster = spec.get("dockyard_cluster") or {}
    parsed: dict[str, ipaddress.IPv4Network] = {}
    for key, value in zip(("pod_cidr", "service_cidr"), networks(spec), strict=True):
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            yield ClusterProblem(["dockyard_cluster", key], f"{value!r} is not a network: {exc}", _fix(key))
            continue
        if not isinstance(net, ipaddress.IPv4Network):
            yield ClusterProblem(["dockyard_cluster", key], f"{value!r} is not IPv4", _fix(key))
            continue
        parsed[key] = net
    where = "dockyard_cluster" if cluster else "the defaults"
    if len(parsed) == 2 and parsed["pod_cidr"].overlaps(parsed["service_cidr"]):
        yield ClusterProblem(
            ["dockyard_cluster", "service_cidr"],
            f"{parsed['service_cidr']} overlaps pod_cidr {parsed['pod_cidr']} (from {where})",
            "give the pods and the services two separate networks",
        )
    for host, address in sorted(host_addresses.items()):
        ip = _ip(address)
        for key, net in parsed.items():
            if ip is not None and ip in net:
                yield ClusterProblem(
                    ["dockyard_cluster", key],
                    f"{net} contains host {host}'s address {ip}",
                    "choose a network that none of the hosts use",
                )
    lb = spec.get("dockyard_kube_api_lb", DEFAULT_API_LB)
    vip = spec.get("dockyard_kube_api_vip")
    if lb in ("kube-vip", "external") and not vip:
        yield ClusterProblem(
            ["dockyard_kube_api_vip"],
            f"dockyard_kube_api_lb is {lb} and needs the API endpoint's address",
            "set dockyard_kube_api_vip to a free address on the control planes' network",
        )
    vip_ip = _ip(vip) if isinstance(vip, str) else None
    if vip_ip is not None:
        for key, net in parsed.items():
            if vip_ip in net:
                yield ClusterProblem(
                    ["dockyard_kube_api_vip"], f"{vip_ip} is inside {key} {net}", "give an address outside both"
                )
        if lb == "kube-vip":
            for host, address in sorted(host_addresses.items()):
                if _ip(address) == vip_ip:
                    yield ClusterProblem(
                        ["dockyard_kube_api_vip"],
                        f"{vip_ip} is host {host}'s own address; kube-vip needs a free one",
                        "give an unused address on the control planes' network",
                    )


def _ip(value: Any) -> ipaddress.IPv4Address | None:
    try:
        ip = ipaddress.ip_address(str(value))
    except ValueError:
        return None  # a DNS name
    return ip if isinstance(ip, ipaddress.IPv4Address) else None


def _fix(key: str) -> str:
    example = DEFAULT_POD_CIDR if key == "pod_cidr" else DEFAULT_SERVICE_CIDR
    return f"give a network address with its prefix length, such as {example}"


API_PORT = 6443  # kubeadm's default bindPort (localAPIEndpoint.bindPort)
HAPROXY_LOCAL_PORT = 8443  # haproxy-local listens on 127.0.0.1:8443 on every node


def kube_api(spec: Mapping[str, Any], control_planes: list[tuple[str, str]]) -> dict[str, Any]:
    """How the environment's API is reached: the controlPlaneEndpoint every node uses, the URL the
    controller's kubeconfig uses, and every name and address the API server certificate must hold.

    ``control_planes``: (inventory name, address) of each control-plane host, first one first.
    """
    lb = str(spec.get("dockyard_kube_api_lb", DEFAULT_API_LB))
    vip = spec.get("dockyard_kube_api_vip")
    pod_cidr, service_cidr = networks(spec)
    if lb == "haproxy-local":
        endpoint = f"127.0.0.1:{HAPROXY_LOCAL_PORT}"
        # The controller has no local proxy: it talks to the first control plane directly.
        controller = f"https://{control_planes[0][1]}:{API_PORT}" if control_planes else ""
    else:
        endpoint = f"{vip}:{API_PORT}"
        controller = f"https://{vip}:{API_PORT}"
    sans: list[str] = []
    for value in [
        *([str(vip)] if vip else []),
        "127.0.0.1",
        "localhost",
        *(item for name, address in control_planes for item in (name, address)),
        *(str(extra) for extra in spec.get("dockyard_kube_api_extra_sans") or []),
    ]:
        if value not in sans:
            sans.append(value)
    return {
        "lb": lb,
        "vip": str(vip) if vip else "",
        "endpoint": endpoint,
        "controller_server": controller,
        "cert_sans": sans,
        "port": API_PORT,
        "local_proxy_port": HAPROXY_LOCAL_PORT,
        "control_planes": [{"name": n, "address": a} for n, a in control_planes],
        "pod_cidr": pod_cidr,
        "service_cidr": service_cidr,
    }
