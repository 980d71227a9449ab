"""The stand-in kubectl (tests/standins/kubernetes/kubectl_main.py) against the Kubernetes API double,
with Calico's real manifest (tests/reference/calico) and a kustomization shaped as the calico role
renders it: the diff says what would change and exits 1, the apply lands every object with the
images and pod CIDR the kustomization sets, the diff then exits 0, and rollout status follows the
DaemonSet. Calls outside what the product makes are refused."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.fakes.kube_api import KubeAPI
from tests.standins.kubernetes.node_tools import build_kubectl

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "tests/reference/calico/manifests/calico.yaml"
MIRROR = "mirror.dockyard.test/quay.io/calico"
DIGEST = "sha256:" + "a" * 64
KUSTOMIZATION = f"""
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - calico.yaml
images:
  - name: quay.io/calico/node
    newName: {MIRROR}/node
    newTag: v3.31.7
    digest: {DIGEST}
  - name: quay.io/calico/cni
    newName: {MIRROR}/cni
    newTag: v3.31.7
patches:
  - target:
      kind: DaemonSet
      name: calico-node
    patch: |
      apiVersion: apps/v1
      kind: DaemonSet
      metadata:
        name: calico-node
        namespace: kube-system
      spec:
        template:
          spec:
            containers:
              - name: calico-node
                env:
                  - name: CALICO_IPV4POOL_CIDR
                    value: "10.244.0.0/16"
"""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[KubeAPI, Path, Path, Path]]:
    kubectl = build_kubectl(tmp_path / "kubectl", "1.35.1").path
    folder = tmp_path / "calico"
    folder.mkdir()
    (folder / "calico.yaml").write_bytes(MANIFEST.read_bytes())
    (folder / "kustomization.yaml").write_text(KUSTOMIZATION)
    with KubeAPI() as api:
        yield api, kubectl, api.kubeconfig(tmp_path / "kubeconfig"), folder


def run(kubectl: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "DOCKYARD_STANDIN_LOG": str(home / "calls.jsonl")}
    return subprocess.run(
        [sys.executable, str(kubectl), *args], capture_output=True, text=True, check=False, env=env, timeout=120
    )


def test_diff_apply_diff_rollout(setup: tuple[KubeAPI, Path, Path, Path], tmp_path: Path) -> None:
    api, kubectl, kubeconfig, folder = setup
    base = ["--kubeconfig", str(kubeconfig)]
    flags = ["--server-side", "--field-manager", "dockyard", "-k", str(folder)]
    first = run(kubectl, *base, "diff", *flags, home=tmp_path)
    assert first.returncode == 1, first.stderr
    assert (
        "+kind: DaemonSet" in first.stdout and "/tmp/MERGED-0/apps.v1.DaemonSet.kube-system.calico-node" in first.stdout
    )
    assert not api.objects("daemonsets", "kube-system"), "a diff must not change the cluster"

    applied = run(kubectl, *base, "apply", *flags, home=tmp_path)
    assert applied.returncode == 0, applied.stderr
    lines = applied.stdout.splitlines()
    documents = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    assert len(lines) == len(documents) and all(line.endswith(" serverside-applied") for line in lines)
    crds = [i for i, line in enumerate(lines) if line.startswith("customresourcedefinition.apiextensions.k8s.io/")]
    assert crds and max(crds) < lines.index("daemonset.apps/calico-node serverside-applied"), "CRDs go first"
    node = api.objects("daemonsets", "kube-system")["calico-node"]
    containers = {c["name"]: c for c in node["spec"]["template"]["spec"]["containers"]}
    init = {c["name"]: c for c in node["spec"]["template"]["spec"]["initContainers"]}
    assert containers["calico-node"]["image"] == f"{MIRROR}/node:v3.31.7@{DIGEST}"
    assert init["install-cni"]["image"] == f"{MIRROR}/cni:v3.31.7"
    env = {e["name"]: e for e in containers["calico-node"]["env"]}
    assert env["CALICO_IPV4POOL_CIDR"]["value"] == "10.244.0.0/16"
    assert len(env) > 1, "the patch merges into the container's env by name, it does not replace it"
    assert (
        api.objects("deployments", "kube-system")["calico-kube-controllers"]["spec"]["template"]["spec"]["containers"][
            0
        ]["image"]
        == "quay.io/calico/kube-controllers:v3.31.7"
    ), "no image rule: left as the manifest says"

    again = run(kubectl, *base, "diff", *flags, home=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout == ""

    rollout = run(
        kubectl, *base, "--namespace", "kube-system", "rollout", "status", "daemonset/calico-node", "--timeout", "30s",
        home=tmp_path,
    )  # fmt: skip
    assert rollout.returncode == 0, rollout.stderr
    assert rollout.stdout.strip().endswith('daemon set "calico-node" successfully rolled out')


def test_calls_outside_the_products_are_refused(setup: tuple[KubeAPI, Path, Path, Path], tmp_path: Path) -> None:
    _api, kubectl, kubeconfig, folder = setup
    base = ["--kubeconfig", str(kubeconfig)]
    client_side = run(kubectl, *base, "apply", "-k", str(folder), home=tmp_path)
    assert client_side.returncode == 2 and "without --server-side" in client_side.stderr
    undocumented = run(kubectl, *base, "apply", "--server-side", "--prune", "-k", str(folder), home=tmp_path)
    assert undocumented.returncode == 2 and "flag --prune" in undocumented.stderr
    (folder / "kustomization.yaml").write_text(KUSTOMIZATION + "namePrefix: x-\n")
    unknown = run(kubectl, *base, "diff", "--server-side", "-k", str(folder), home=tmp_path)
    assert unknown.returncode == 2 and "namePrefix" in unknown.stderr
    missing = run(kubectl, *base, "-n", "kube-system", "rollout", "status", "ds/calico-node", home=tmp_path)
    assert missing.returncode == 1 and 'daemonsets.apps "calico-node" not found' in missing.stderr
