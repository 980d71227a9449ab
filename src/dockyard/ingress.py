"""The ingress phase: Traefik Proxy (chart ``traefik``), installed with pyhelm3 into the environment's
cluster as the default IngressClass, reachable on every node without a cloud load balancer.

Why Traefik and not ingress-nginx: ingress-nginx is retired (no releases or security fixes after
March 2026, see ../shared/reference/ingress/SOURCES.md). Traefik runs here as a DaemonSet with
hostPort 80/443 on every node, behind a ClusterIP Service: operators put a VIP or an external load
balancer in front of the nodes' ports 80/443 (the chart's EXAMPLES.md documents both patterns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard import catalogue, kube
from dockyard.gitops import install
from dockyard.gitops.settings import internal_ca_path, kubeconfig_path, state_dir
from dockyard.mirror import charts
from dockyard.spec.validate import build

COMPONENT = "traefik"
CHART_ARTEFACT = "traefik-chart"
IMAGE_ARTEFACT = "traefik-image"
RELEASE = "traefik"
NAMESPACE = "traefik"
HTTP_PORT, HTTPS_PORT = 80, 443


@dataclass
class IngressResult:
    changed: bool = False
    skipped_reason: str = ""
    messages: list[str] = field(default_factory=list)


def _source(spec: Mapping[str, Any]) -> catalogue.Source:
    platform = build(dict(spec))
    return catalogue.Source(
        airgap=platform.airgap, mirror_fqdn=platform.mirror_fqdn, mirror_registry=platform.mirror_registry
    )


def chart(spec: Mapping[str, Any], root: Path) -> tuple[str, str]:
    """(where helm reads the chart from now: air-gapped, the mirror's copy; its pinned version)."""
    cat = dict(spec.get("dockyard_catalogue") or {})
    art = catalogue.artefact(cat, COMPONENT, CHART_ARTEFACT)
    where = {"state_dir": state_dir(root, spec), "ca_file": internal_ca_path(root, spec)}
    return charts.helm_source(art, _source(spec), **where), str(cat[COMPONENT]["version"])


def values(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The chart values (keys of the chart's values.schema.json)."""
    cat = dict(spec.get("dockyard_catalogue") or {})
    image = catalogue.resolve(catalogue.artefact(cat, COMPONENT, IMAGE_ARTEFACT), _source(spec))
    reference, _, digest = str(image["location"]).partition("@")
    name, _, tag = reference.rpartition(":")
    registry, _, repository = name.partition("/")
    wanted_image: dict[str, Any] = {"registry": registry, "repository": repository, "tag": tag}
    out: dict[str, Any] = {
        "image": wanted_image,
        "deployment": {"kind": "DaemonSet"},
        "ports": {"web": {"hostPort": HTTP_PORT}, "websecure": {"hostPort": HTTPS_PORT}},
        "service": {"spec": {"type": "ClusterIP"}},
        "ingressClass": {"enabled": True, "isDefaultClass": True},
        "providers": {"kubernetesIngress": {"enabled": True}},
    }
    if digest:
        wanted_image["digest"] = digest
        out["versionOverride"] = tag  # the chart cannot read the version from a digest
    return out


def run(root: Path, spec: Mapping[str, Any], env: str, *, helm: str, timeout: str, check: bool) -> IngressResult:
    target = kubeconfig_path(root, spec, env)
    result = IngressResult()
    reason = kube.unreachable_reason(target, context=" (the kubernetes phase writes it)")
    if reason:
        result.skipped_reason = f"ingress: SKIPPED for env {env}: {reason}"
        return result
    chart_ref, version = chart(spec, root)
    client = install.client_for(target, helm, timeout)
    done = install.install_chart(
        client,
        chart_ref,
        version,
        values(spec),
        dry_run=check,
        release=RELEASE,
        namespace=NAMESPACE,
        pin_hint="traefik in the catalogue, or fix the chart source",
    )
    verb = {"install": "installed", "upgrade": "upgraded", "unchanged": "unchanged"}[done.action]
    would = "would be " if check and done.changed else ""
    result.messages.append(f"ingress: env {env}: chart traefik {version} {would}{verb}")
    result.changed = done.changed
    return result
