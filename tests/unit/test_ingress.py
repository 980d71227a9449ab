"""The ingress values Dockyard gives the Traefik chart validate against the chart's values.schema.json
and render with the real helm into what the phase promises: a DaemonSet on hostPort 80/443 on every
node, the default IngressClass, the catalogue's image (the mirror's, by digest, when air-gapped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from dockyard import catalogue, ingress
from tests.catalogue_pins import TEST_PIN, unknowns_pinned
from tests.gitops_helpers import helm_template

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "tests" / "reference" / "ingress" / "traefik-helm-chart" / "traefik"


def spec(**extra: Any) -> dict[str, Any]:
    base = yaml.safe_load((ROOT / "inventories" / "platform" / "group_vars" / "all" / "dockyard.yml").read_text())
    base.update(extra)
    base["dockyard_catalogue"] = catalogue.merged(base.get("dockyard_catalogue"))
    return base


def render(tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return helm_template(CHART, ingress.RELEASE, ingress.NAMESPACE, path)


def test_chart_version_is_the_reference() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert ingress.chart(spec(), Path("/nonexistent"))[1] == chart["version"] == "41.3.0"
    image = catalogue.product()["traefik"]["artefacts"]["traefik-image"]
    assert image["ref"].endswith(":" + chart["appVersion"])


def test_values_follow_the_chart_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    for values in (ingress.values(spec()), ingress.values(airgapped())):
        jsonschema.Draft7Validator(schema).validate(values)


def airgapped() -> dict[str, Any]:
    return spec(
        dockyard_airgap=True,
        dockyard_catalogue=unknowns_pinned(),
    )


def test_renders_a_daemonset_on_every_node(tmp_path: Path) -> None:
    docs = render(tmp_path, ingress.values(spec()))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("DaemonSet", "traefik") in kinds
    assert not any(d["kind"] == "Deployment" for d in docs)
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    ports = {p["name"]: p for p in ds["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert ports["web"]["hostPort"] == 80 and ports["websecure"]["hostPort"] == 443
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/library/traefik:v3.7.11"
    service = next(d for d in docs if d["kind"] == "Service")
    assert service["spec"]["type"] == "ClusterIP"  # no cloud load balancer needed
    klass = next(d for d in docs if d["kind"] == "IngressClass")
    assert klass["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"


def test_airgapped_image_comes_from_the_mirror_by_digest(tmp_path: Path) -> None:
    docs = render(tmp_path, ingress.values(airgapped()))
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    image = ds["spec"]["template"]["spec"]["containers"][0]["image"]
    mirror = ingress._source(airgapped()).mirror_registry
    assert image == f"{mirror}/docker.io/library/traefik@sha256:{TEST_PIN}", image
