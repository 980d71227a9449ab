"""The real helm binary renders what the generator produced: the deploy chart for every environment and
service, and the upstream argo-cd chart (10.1.1, vendored) with every environment's values."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from dockyard import catalogue
from tests.catalogue_pins import TEST_PIN, unknowns_pinned
from tests.gitops_helpers import ARGO_CD_CHART, helm_template, render
from tests.unit.test_gitops_render import two_projects

MIRROR = "mirror.platform.example.com:5000"


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_deploy_chart_renders_for_every_env_and_service(
    isolated_root: Path, edit_spec: Callable[..., Path], tmp_path: Path
) -> None:
    tree = edit_spec(two_projects)
    out = tmp_path / "out"
    render(isolated_root, tree, out)
    rendered = 0
    for repo in sorted((out / "repos").glob("*-deploy")):
        project = repo.name.removesuffix("-deploy")
        chart = repo / "chart"
        for values in sorted((repo / "envs").glob("*/*/values.yaml")):
            env, service = values.parent.parent.name, values.parent.name
            spec = yaml.safe_load(values.read_text())
            release = f"{project}-{service}"
            untagged = helm_template(chart, release, project, values)
            assert [d["kind"] for d in untagged if d["kind"] == "Deployment"] == []  # nothing to run yet
            docs = helm_template(chart, release, project, values, sets=("image.tag=sha-0a1b2c3",))
            [deployment] = by_kind(docs, "Deployment")
            [service_obj] = by_kind(docs, "Service")
            pod = deployment["spec"]["template"]["spec"]
            [container] = pod["containers"]
            assert container["image"] == f"harbor.platform.example.com/{project}/{service}:sha-0a1b2c3"
            assert pod["imagePullSecrets"] == [{"name": "harbor-pull"}]
            assert deployment["metadata"]["name"] == service == service_obj["metadata"]["name"]
            assert deployment["spec"]["replicas"] == spec["replicas"]
            assert container["ports"][0]["containerPort"] == spec["port"] == service_obj["spec"]["ports"][0]["port"]
            selector = deployment["spec"]["selector"]["matchLabels"]
            assert (
                selector
                == service_obj["spec"]["selector"]
                == {
                    "app.kubernetes.io/name": service,
                    "app.kubernetes.io/instance": release,
                }
            )
            if spec.get("healthPath"):
                assert container["readinessProbe"]["httpGet"] == {"path": spec["healthPath"], "port": "http"}
                assert container["livenessProbe"]["httpGet"]["path"] == spec["healthPath"]
            else:
                assert "readinessProbe" not in container
            assert container.get("resources", {}) == spec.get("resources", {})
            ingresses = by_kind(docs, "Ingress")
            if spec["ingress"]["enabled"]:
                [ingress] = ingresses
                host = f"{service}-{project}.{env}.platform.example.com"
                assert ingress["spec"]["rules"][0]["host"] == host
                assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": f"{service}-tls"}]
            else:
                assert ingresses == []
            rendered += 1
    assert rendered == 2 * 3 + 2 * 2  # shop: 2 services x 3 envs; pay: 2 services x 2 envs


def _values(out: Path, env: str) -> Path:
    return out / env / "argocd-values.yaml"


def test_upstream_argocd_chart_renders_with_each_env_values(
    isolated_root: Path, sample_tree: Path, tmp_path: Path
) -> None:
    ca = isolated_root / ".dockyard" / "pki" / "ca.crt"
    ca.parent.mkdir(parents=True)
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n")
    known = isolated_root / ".dockyard" / "gitlab" / "ssh_known_hosts"
    known.parent.mkdir(parents=True)
    known.write_text("gitlab.platform.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests\n")
    out = tmp_path / "out"
    render(isolated_root, sample_tree, out)
    for env in ("dev", "stage", "prod"):
        values = yaml.safe_load(_values(out, env).read_text())
        docs = helm_template(ARGO_CD_CHART, "argocd", "argocd", _values(out, env))
        configmaps = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
        rbac = configmaps["argocd-rbac-cm"]["data"]
        assert rbac["policy.default"] == "role:readonly"
        assert ("p, role:prod-sync, applications, sync, shop/*, allow" in rbac["policy.csv"]) == (env == "prod")
        assert configmaps["argocd-tls-certs-cm"]["data"] == {"gitlab.platform.example.com": ca.read_text()}
        assert (
            "gitlab.platform.example.com ssh-ed25519"
            in configmaps["argocd-ssh-known-hosts-cm"]["data"]["ssh_known_hosts"]
        )
        # argocd-server serves TLS; the ingress reaches it on the HTTPS port, speaking HTTPS
        assert configmaps["argocd-cmd-params-cm"]["data"]["server.insecure"] == "false"
        secret = next(d for d in by_kind(docs, "Secret") if d["metadata"]["name"] == "argocd-secret")
        hashed = base64.b64decode(secret["data"]["admin.password"])
        assert hashed.decode() == values["configs"]["secret"]["argocdServerAdminPassword"]
        assert bcrypt.checkpw(b"not-the-password", hashed) is False
        [ingress] = [i for i in by_kind(docs, "Ingress") if i["metadata"]["name"] == "argocd-server"]
        host = f"argocd.{env}.platform.example.com"
        assert ingress["spec"]["rules"][0]["host"] == host
        assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "argocd-server-tls"}]
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"] == "HTTPS"
        assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"] == 443
        images = {c["image"] for d in docs for c in _containers(d)}
        pinned = catalogue.product()["argocd_images"]["artefacts"]
        assert images == {  # by digest, as the catalogue pins them
            f"quay.io/argoproj/argocd:v3.4.4@sha256:{pinned['argocd']['sha256']}",
            f"ecr-public.aws.com/docker/library/redis:8.2.3-alpine@sha256:{pinned['redis']['sha256']}",
        }
        # the pinned chart version comes from the catalogue
        assert all(
            d["metadata"].get("labels", {}).get("helm.sh/chart", "argo-cd-10.1.1") == "argo-cd-10.1.1" for d in docs
        )


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if isinstance(spec, dict) else {}
    if doc["kind"] == "Pod":
        pod = spec
    return list(pod.get("containers", [])) + list(pod.get("initContainers", []))


def test_airgapped_ha_values_use_only_the_mirror(
    isolated_root: Path, edit_spec: Callable[..., Path], tmp_path: Path
) -> None:
    def airgap_ha(spec: dict[str, Any]) -> None:
        spec["dockyard_airgap"] = True
        spec["dockyard_argocd_ha"] = True
        spec["dockyard_argocd_tls_secret"] = "argocd-ingress-cert"

    tree = edit_spec(airgap_ha)
    hosts = tree / "platform" / "hosts.yml"
    hosts.write_text(
        hosts.read_text().replace(
            "      hosts: {}", "      hosts:\n        mirror-1:\n          ansible_host: 192.0.2.14"
        )
    )
    overrides_file = tree / "platform" / "group_vars" / "all" / "versions.yml"
    out = tmp_path / "out"
    with pytest.raises(AssertionError):  # air-gapped, the product's unknown pins are refused
        render(isolated_root, tree, out, "dev")
    data = yaml.safe_load(overrides_file.read_text())
    data["dockyard_catalogue"] = unknowns_pinned({"argocd_images": {"artefacts": {}}})
    overrides_file.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(AssertionError):  # redis-ha's haproxy image is not catalogued: refused, not fetched upstream
        render(isolated_root, tree, out, "dev")
    data["dockyard_catalogue"]["argocd_images"]["artefacts"]["haproxy"] = {
        "kind": "image",
        "ref": "ecr-public.aws.com/docker/library/haproxy:3.2.4-alpine",
        "sha256": TEST_PIN,
        "sha256_source": "test catalogue entry",
    }
    overrides_file.write_text(yaml.safe_dump(data, sort_keys=False))
    render(isolated_root, tree, out, "dev")
    docs = helm_template(ARGO_CD_CHART, "argocd", "argocd", _values(out, "dev"))
    # `helm test` pods (redis-ha ships some) are never installed; everything that is comes from the mirror.
    installed = [
        d for d in docs if (d["metadata"].get("annotations") or {}).get("helm.sh/hook") not in ("test", "test-success")
    ]
    images = {c["image"] for d in installed for c in _containers(d)}
    assert images and all(i.startswith(f"{MIRROR}/") for i in images), images
    assert f"{MIRROR}/ecr-public.aws.com/docker/library/haproxy:3.2.4-alpine@sha256:{TEST_PIN}" in images
    argocd_digest = catalogue.product()["argocd_images"]["artefacts"]["argocd"]["sha256"]
    assert f"{MIRROR}/quay.io/argoproj/argocd:v3.4.4@sha256:{argocd_digest}" in images
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("StatefulSet", "argocd-redis-ha-server") in kinds
    assert ("Deployment", "argocd-redis") not in kinds
    server = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "argocd-server")
    assert server["spec"]["replicas"] == 2
    [ingress] = [i for i in by_kind(docs, "Ingress") if i["metadata"]["name"] == "argocd-server"]
    assert ingress["spec"]["tls"][0]["secretName"] == "argocd-ingress-cert"
    tls_secret = yaml.safe_load((out / "dev" / "argocd" / "secret-argocd-ingress-cert.yaml").read_text())
    assert tls_secret["type"] == "kubernetes.io/tls"
