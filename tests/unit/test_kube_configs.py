"""Every kubeadm, kubelet and kube-proxy configuration the cluster roles render validates against the
strict schemas built from ../shared/reference/kubeadm (tests/kube_schema.py): a single control plane,
HA with each API endpoint mode, the JoinConfiguration and the UpgradeConfiguration. Rendered by the
roles' own configs.yml through `invoke render --configs`'s playbook (playbooks/render_configs.yml)
plus the JoinConfiguration template (tests/unit/render/join_configs.yml), no host touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard import catalogue
from tests import kube_schema

ROOT = Path(__file__).resolve().parents[2]
RENDER = ROOT / "tests" / "unit" / "render"
RELEASE_TEMPLATES = kube_schema.REFERENCE / "kubernetes-release" / "cmd" / "krel" / "templates" / "latest"

SINGLE = {"kube_control_plane": {"cp-1": "192.0.2.11"}, "kube_node": {"worker-1": "192.0.2.21"}}
HA = {
    "kube_control_plane": {"cp-1": "192.0.2.11", "cp-2": "192.0.2.12", "cp-3": "192.0.2.13"},
    "kube_node": {"worker-1": "192.0.2.21", "worker-2": "192.0.2.22"},
}
LAYOUTS = {
    "single-haproxy-local": (SINGLE, {}),
    "ha-haproxy-local": (HA, {"dockyard_kube_api_lb": "haproxy-local"}),
    "ha-kube-vip": (HA, {"dockyard_kube_api_lb": "kube-vip", "dockyard_kube_api_vip": "192.0.2.100"}),
    "ha-external": (
        HA,
        {
            "dockyard_kube_api_lb": "external",
            "dockyard_kube_api_vip": "192.0.2.200",
            "dockyard_kube_api_extra_sans": ["api.example.com", "198.51.100.7"],
        },
    ),
}


def render(tmp: Path, groups: dict[str, dict[str, str]], spec: dict[str, Any]) -> Path:
    tree = tmp / "inventories"
    shutil.copytree(ROOT / "inventories" / "platform", tree / "platform")
    env = tree / "dev"
    (env / "group_vars" / "all").mkdir(parents=True)
    (env / "group_vars" / "all" / "env.yml").write_text(yaml.safe_dump({"dockyard_env": "dev", **spec}))
    hosts = {g: {"hosts": {h: {"ansible_host": a} for h, a in members.items()}} for g, members in groups.items()}
    (env / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": hosts}}))
    out = tmp / "rendered"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(tree / "platform"),
            "-i",
            str(env),
            "-e",
            f"dockyard_render_root={out}",
            str(ROOT / "playbooks" / "render_configs.yml"),
            str(RENDER / "join_configs.yml"),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_CACHE_PLUGIN": "memory",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return out


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    groups, spec = LAYOUTS[request.param]
    return request.param, render(tmp_path_factory.mktemp(request.param), groups, spec)


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def kubeadm_config(out: Path, host: str) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in documents(out / host / "etc/kubernetes/kubeadm/config.yaml")}


def test_every_document_validates(rendered: tuple[str, Path]) -> None:
    layout, out = rendered
    groups, _ = LAYOUTS[layout]
    checked = []
    for host in groups["kube_control_plane"]:
        for path in (
            out / host / "etc/kubernetes/kubeadm/config.yaml",
            out / host / "etc/kubernetes/kubeadm/join.yaml",
        ):
            if not path.exists():
                continue
            for doc in documents(path):
                assert kube_schema.problems(doc) == [], f"{layout} {host} {path.name}"
                checked.append(doc["kind"])
    for host in groups["kube_node"]:
        docs = documents(out / host / "etc/kubernetes/kubeadm/join.yaml")
        assert [d["kind"] for d in docs] == ["JoinConfiguration"]
        assert kube_schema.problems(docs[0]) == [], f"{layout} {host}"
    assert {"InitConfiguration", "ClusterConfiguration", "KubeletConfiguration", "KubeProxyConfiguration"} <= set(
        checked
    )
    if len(groups["kube_control_plane"]) > 1:
        assert "JoinConfiguration" in checked


def test_upgrade_configuration_validates_on_every_node(rendered: tuple[str, Path]) -> None:
    """The UpgradeConfiguration `kubeadm upgrade apply|node --config` reads, on every node, names the
    catalogue's version."""
    layout, out = rendered
    groups, _ = LAYOUTS[layout]
    version = str(catalogue.product()["kubernetes"]["version"])
    for host in [*groups["kube_control_plane"], *groups["kube_node"]]:
        docs = documents(out / host / "etc/kubernetes/kubeadm/upgrade.yaml")
        assert [d["kind"] for d in docs] == ["UpgradeConfiguration"], (layout, host)
        assert kube_schema.problems(docs[0]) == [], (layout, host)
        assert docs[0]["apply"]["kubernetesVersion"] == f"v{version}"


def test_endpoint_and_sans(rendered: tuple[str, Path]) -> None:
    layout, out = rendered
    groups, spec = LAYOUTS[layout]
    cps = groups["kube_control_plane"]
    for host, address in cps.items():
        cluster = kubeadm_config(out, host)["ClusterConfiguration"]
        init = kubeadm_config(out, host)["InitConfiguration"]
        vip = spec.get("dockyard_kube_api_vip")
        assert cluster["controlPlaneEndpoint"] == (f"{vip}:6443" if vip else "127.0.0.1:8443")
        sans = cluster["apiServer"]["certSANs"]
        for name, addr in cps.items():
            assert name in sans and addr in sans, (host, name)
        assert vip is None or vip in sans
        assert set(spec.get("dockyard_kube_api_extra_sans", [])) <= set(sans)
        assert init["localAPIEndpoint"] == {"advertiseAddress": address, "bindPort": 6443}
        assert init["nodeRegistration"]["name"] == host
        assert cluster["networking"] == {
            "podSubnet": "10.244.0.0/16",
            "serviceSubnet": "10.96.0.0/12",
            "dnsDomain": "cluster.local",
        }
        assert cluster["kubernetesVersion"] == "v1.35.1"
        kube_vip = out / host / "etc/kubernetes/manifests/kube-vip.yaml"
        assert kube_vip.exists() == (spec.get("dockyard_kube_api_lb") == "kube-vip")


def test_joins_pin_the_ca(rendered: tuple[str, Path]) -> None:
    layout, out = rendered
    groups, _ = LAYOUTS[layout]
    first = next(iter(groups["kube_control_plane"]))
    for host in [*groups["kube_control_plane"], *groups["kube_node"]]:
        path = out / host / "etc/kubernetes/kubeadm/join.yaml"
        if host == first:
            assert not path.exists()
            continue
        join = documents(path)[0]
        token = join["discovery"]["bootstrapToken"]
        assert "unsafeSkipCAVerification" not in token
        assert token["caCertHashes"] == ["sha256:" + "0" * 64]
        assert ("controlPlane" in join) == (host in groups["kube_control_plane"])


def test_kube_vip_pod(rendered: tuple[str, Path]) -> None:
    layout, out = rendered
    groups, spec = LAYOUTS[layout]
    if spec.get("dockyard_kube_api_lb") != "kube-vip":  # the other layouts run no kube-vip at all
        assert not list(out.glob("*/etc/kubernetes/manifests/kube-vip.yaml"))
        return
    for i, host in enumerate(groups["kube_control_plane"]):
        pod = documents(out / host / "etc/kubernetes/manifests/kube-vip.yaml")[0]
        env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
        assert env["address"] == spec["dockyard_kube_api_vip"] and env["cp_enable"] == "true"
        assert pod["spec"]["containers"][0]["image"] == "ghcr.io/kube-vip/kube-vip:v1.0.0"
        conf = pod["spec"]["volumes"][0]["hostPath"]["path"]
        assert conf == ("/etc/kubernetes/super-admin.conf" if i == 0 else "/etc/kubernetes/admin.conf")


def test_haproxy_local_fronts_every_control_plane(rendered: tuple[str, Path]) -> None:
    layout, out = rendered
    groups, spec = LAYOUTS[layout]
    for host in [*groups["kube_control_plane"], *groups["kube_node"]]:
        cfg = out / host / "etc/haproxy/haproxy.cfg"
        if spec.get("dockyard_kube_api_lb", "haproxy-local") != "haproxy-local":
            assert not cfg.exists()
            continue
        text = cfg.read_text()
        assert "bind 127.0.0.1:8443" in text
        for name, addr in groups["kube_control_plane"].items():
            assert f"server {name} {addr}:6443" in text
        if shutil.which("haproxy"):
            check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, check=False)
            assert check.returncode == 0, check.stdout + check.stderr


def test_kubelet_unit_is_the_release_template(rendered: tuple[str, Path]) -> None:
    """The unit and drop-in are kubernetes/release's, line for line, except the kubelet's path."""
    _, out = rendered
    host = "worker-1"
    for rendered_path, upstream in (
        ("etc/systemd/system/kubelet.service", RELEASE_TEMPLATES / "kubelet" / "kubelet.service"),
        ("etc/systemd/system/kubelet.service.d/10-kubeadm.conf", RELEASE_TEMPLATES / "kubeadm" / "10-kubeadm.conf"),
    ):
        lines = (out / host / rendered_path).read_text().splitlines()
        assert lines[1].startswith("# kubernetes/release v0.21.1"), lines[:3]
        ours = lines[3:]  # after Dockyard's three-line header
        theirs = upstream.read_text().replace("/usr/bin/kubelet", "/usr/local/bin/kubelet").splitlines()
        assert ours == theirs, rendered_path
    assert (out / host / "etc/sysconfig/kubelet").read_text() == (
        RELEASE_TEMPLATES / "kubelet" / "kubelet.env"
    ).read_text()


def test_versions_are_held(rendered: tuple[str, Path]) -> None:
    _, out = rendered
    prefs = (out / "worker-1" / "etc/apt/preferences.d/dockyard-kubernetes").read_text()
    for package in ("kubeadm", "kubelet", "kubectl"):
        assert f"Package: {package}\nPin: version *\nPin-Priority: -1" in prefs


def test_secret_bearing_files_are_private(rendered: tuple[str, Path]) -> None:
    _, out = rendered
    for path in ("cp-1/etc/kubernetes/kubeadm/config.yaml", "worker-1/etc/kubernetes/kubeadm/join.yaml"):
        assert (out / path).stat().st_mode & 0o777 == 0o600, path


def test_calico_kustomization(rendered: tuple[str, Path]) -> None:
    _, out = rendered
    kust = documents(out / "cp-1" / "etc/kubernetes/addons/calico/kustomization.yaml")[0]
    assert kust["resources"] == ["calico.yaml"]
    names = {i["name"]: i for i in kust["images"]}
    manifest = (ROOT / "tests" / "reference" / "calico" / "manifests" / "calico.yaml").read_text()
    for name, image in names.items():
        assert f"image: {name}:{image['newTag']}" in manifest, (
            f"{name}:{image['newTag']} is not in the reference manifest"
        )
    patch = yaml.safe_load(kust["patches"][0]["patch"])
    env = patch["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "CALICO_IPV4POOL_CIDR", "value": "10.244.0.0/16"}]
    assert "name: calico-node\n" in manifest and "CALICO_IPV4POOL_CIDR" in manifest


# ------------------------------------------------------------------------------ the schema itself


@pytest.mark.parametrize(("owner", "field"), sorted(kube_schema.ENUMS))
def test_enums_are_quoted_from_the_reference(owner: str, field: str) -> None:
    _, quote = kube_schema.ENUMS[(owner, field)]
    assert any(quote in kube_schema.page_text(v) for v in kube_schema.PAGES)


BAD = [
    (
        {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration", "networking": {"podCIDR": "x"}},
        "podCIDR",
    ),
    ({"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration", "apiServer": {"certSANs": "a"}}, "array"),
    (
        {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration", "encryptionAlgorithm": "RSA-1024"},
        "RSA",
    ),
    (
        {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "InitConfiguration", "localAPIEndpoint": {"bindPort": "6443"}},
        "integer",
    ),
    ({"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration"}, "discovery"),
    ({"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "InitConfiguration"}, "v1beta3"),
    (
        {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "cgroupDriver": "systemd"},
        "containerRuntimeEndpoint",
    ),
    (
        {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "containerRuntimeEndpoint": "x",
            "syncFrequency": "1 minute",
        },
        "syncFrequency",
    ),
    (
        {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "mode": "userspace"},
        "userspace",
    ),
]


@pytest.mark.parametrize(("doc", "words"), BAD, ids=[w for _, w in BAD])
def test_schema_refuses(doc: dict[str, Any], words: str) -> None:
    found = kube_schema.problems(doc)
    assert any(words in p for p in found), found
