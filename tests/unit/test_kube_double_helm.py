"""The Kubernetes API test double (tests/fakes/kube_api.py) against the real helm: it must serve what
helm 3 needs to install and upgrade the real argo-cd chart (tests/reference/argo-cd-chart) with
``--wait --atomic`` (discovery, OpenAPI v3 field validation, creates, patches, protobuf release
Secrets, the pre-install hook Job watched to completion, readiness of every Deployment and the
StatefulSet), as the lab's argocd phase does. It fails when any of those is missing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dockyard import pki
from tests.fakes.helm_client import HELM
from tests.fakes.kube_api import ClusterTLS, KubeAPI
from tests.fakes.kube_cluster import label_match, schema_errors

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "tests" / "reference" / "argo-cd-chart" / "argo-cd"


@pytest.fixture
def cluster(tmp_path: Path) -> KubeAPI:
    ca, _ = pki.load_or_create_ca(tmp_path / "ca", "test cluster CA")
    pki.ensure_cert(ca, pki.CertRequest("apiserver", ("localhost",), ("127.0.0.1",)))
    certs = tmp_path / "ca" / "certs"
    tls = ClusterTLS(certs / "apiserver.crt", certs / "apiserver.key", tmp_path / "ca" / "ca.crt")
    return KubeAPI(crds_installed=False, tls=tls)


def helm(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HELM, "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, check=False, timeout=180
    )


def test_helm_installs_and_upgrades_the_argo_cd_chart(cluster: KubeAPI, tmp_path: Path) -> None:
    with cluster as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        install = ["upgrade", "--install", "argocd", str(CHART), "--namespace", "argocd", "--create-namespace"]
        first = helm(kubeconfig, *install, "--wait", "--atomic", "--timeout", "90s", "--output", "json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["info"]["status"] == "deployed"
        # what helm made is stored, with the kinds of the CRDs it created now served
        assert {"applications.argoproj.io", "appprojects.argoproj.io"} <= set(api.objects("customresourcedefinitions"))
        assert "argocd-server" in api.objects("deployments", "argocd")
        assert any(n.startswith("argocd-server-") for n in api.objects("replicasets", "argocd"))
        assert "argocd-application-controller" in api.objects("statefulsets", "argocd")
        hook = api.objects("jobs", "argocd")["argocd-redis-secret-init"]  # the pre-install hook, watched
        assert {"type": "Complete", "status": "True"} in hook["status"]["conditions"]
        release = api.objects("secrets", "argocd")["sh.helm.release.v1.argocd.v1"]
        assert release["type"] == "helm.sh/release.v1" and release["metadata"]["labels"]["owner"] == "helm"
        # an upgrade (a value changed) patches what exists and waits again
        second = helm(kubeconfig, *install, "--set", "server.replicas=2", "--wait", "--atomic", "--timeout", "90s")
        assert second.returncode == 0, second.stderr
        server = api.objects("deployments", "argocd")["argocd-server"]
        assert server["spec"]["replicas"] == 2 and server["status"]["readyReplicas"] == 2
        listed = helm(kubeconfig, "list", "--namespace", "argocd", "--output", "json")
        assert [(r["name"], r["revision"], r["status"]) for r in json.loads(listed.stdout)] == [
            ("argocd", "2", "deployed")
        ]


def test_custom_resources_are_held_to_their_crd_schema(cluster: KubeAPI, tmp_path: Path) -> None:
    with cluster as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        install = ["upgrade", "--install", "argocd", str(CHART), "--namespace", "argocd", "--create-namespace"]
        assert helm(kubeconfig, *install, "--timeout", "90s").returncode == 0
        project = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "p", "namespace": "argocd"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
        }
        good = api.handle("POST", "/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects",
                          {"authorization": "Bearer test-token"}, json.dumps(project).encode())  # fmt: skip
        assert good[0] == 201, good
        project["metadata"]["name"] = "q"
        project["spec"]["sourceRepo"] = "typo"
        bad = api.handle("POST", "/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects",
                         {"authorization": "Bearer test-token"}, json.dumps(project).encode())  # fmt: skip
        assert bad[0] == 422 and 'unknown field "spec.sourceRepo"' in str(bad[1]), bad


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1,b=2", {"a": "1", "b": "2"}, True),
        ("a=1,b=2", {"a": "1"}, False),
        ("a!=1", {"a": "2"}, True),
        ("a in (1,2),!c", {"a": "2"}, True),
        ("a in (1,2),!c", {"a": "2", "c": ""}, False),
        ("a notin (1)", {"a": "1"}, False),
        ("a", {}, False),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert label_match(selector, labels) is expected


def test_structural_schema_errors() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"n": {"type": "integer"}, "free": {"x-kubernetes-preserve-unknown-fields": True}},
            }
        },
    }
    assert schema_errors({"spec": {"n": 1, "free": {"any": 1}}}, schema) == []
    assert schema_errors({"spec": {"n": "1"}}, schema) == ["spec.n: Invalid value: must be of type integer"]
    assert schema_errors({"spec": {"m": 1}}, schema) == ['spec.m: unknown field "spec.m"']


def test_watch_starts_with_what_exists_then_streams_changes() -> None:
    import http.client  # noqa: PLC0415
    import threading  # noqa: PLC0415

    with KubeAPI() as api:
        api.create_namespace("w")
        auth = {"authorization": "Bearer test-token", "content-type": "application/json"}

        def secret(name: str) -> bytes:
            return json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}}).encode()

        assert api.handle("POST", "/api/v1/namespaces/w/secrets", auth, secret("before"))[0] == 201
        host, port = api.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/api/v1/namespaces/w/secrets?watch=true&timeoutSeconds=2", headers=auth)
        response = conn.getresponse()
        later = threading.Timer(0.3, lambda: api.handle("POST", "/api/v1/namespaces/w/secrets", auth, secret("after")))
        later.start()
        events = [json.loads(line) for line in response.read().splitlines() if line.strip()]
        later.join()
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
            ("ADDED", "before"),
            ("ADDED", "after"),
        ]
