"""The stand-ins for a Kubernetes upgrade 1.35.1 -> 1.36.0 (tests/standins/kubernetes) in throwaway
roots: `kubeadm upgrade apply|node --config upgrade.yaml` as the roles run them, with kubeadm's
version rules and preflight; the kubelet reporting its Node's version and readiness; etcd's release
tarball (etcdctl endpoint health and snapshot save with the healthcheck client certificate kubeadm
issued, etcdutl snapshot status); the serve module's upgrade overlay."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard import catalogue
from tests.standins.kubernetes.build import build_kubeadm
from tests.standins.kubernetes.etcd import build_etcd_tarball
from tests.standins.kubernetes.node_tools import build_kubelet
from tests.standins.upstream import TestUpstream
from tests.unit.test_standin_kubeadm import (
    client,
    config,
    free_port,
    init_docs,
    join_command,
    join_docs,
    run,
    standin_env,
)

UPGRADE = {
    "apiVersion": "kubeadm.k8s.io/v1beta4",
    "kind": "UpgradeConfiguration",
    "apply": {
        "kubernetesVersion": "v1.36.0",
        "certificateRenewal": True,
        "etcdUpgrade": True,
        "imagePullPolicy": "IfNotPresent",
    },
    "node": {"certificateRenewal": True, "etcdUpgrade": True, "imagePullPolicy": "IfNotPresent"},
    "timeouts": {"upgradeManifests": "5m0s"},
}
NEW = "/usr/local/lib/dockyard/kubernetes/1.36.0/kubeadm"  # where the roles run the new kubeadm from
ETCD_TLS = (
    "--endpoints=https://127.0.0.1:2379",
    "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
    "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
    "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
)


def etcd_catalogue() -> tuple[str, str]:
    """etcd's version and amd64 URL from the catalogue; the literals until the catalogue has them."""
    etcd = catalogue.product().get("etcd")
    if etcd and "etcd-linux-amd64" in etcd.get("artefacts", {}):
        return str(etcd["version"]), str(etcd["artefacts"]["etcd-linux-amd64"]["url"])
    return "3.6.6", "https://github.com/etcd-io/etcd/releases/download/v3.6.6/etcd-v3.6.6-linux-amd64.tar.gz"


@pytest.fixture(scope="module")
def kubeadms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("kubeadm")
    return {v: build_kubeadm(work / v / "kubeadm", v).path for v in ("1.35.1", "1.36.0", "1.37.0")}


@pytest.fixture(scope="module")
def kubelet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_kubelet(tmp_path_factory.mktemp("kubelet") / "kubelet", "1.35.1").path


@pytest.fixture(scope="module")
def etcd_tools(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("etcd")
    version, url = etcd_catalogue()
    tarball = build_etcd_tarball(work / url.rsplit("/", 1)[-1], work / "build", version).path
    with tarfile.open(tarball) as tar:
        names = sorted(m.name for m in tar.getmembers())
        top = f"etcd-v{version}-linux-amd64"
        assert names == [top, f"{top}/etcd", f"{top}/etcdctl", f"{top}/etcdutl"]
        assert all(m.mode == 0o755 for m in tar.getmembers())
        tar.extractall(work / "x", filter="data")
    return {tool: work / "x" / top / tool for tool in ("etcd", "etcdctl", "etcdutl")}


@pytest.fixture
def start_kubelet(kubelet: Path) -> Iterator[Callable[[Path], None]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(root: Path) -> None:
        conf = root / "var/lib/kubelet/config.yaml"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")
        procs.append(
            subprocess.Popen(
                ["/usr/bin/python3", str(kubelet), "--config", str(conf)],
                env={**os.environ, **standin_env(root)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def calls(root: Path) -> list[dict[str, Any]]:
    path = root / "var/log/dockyard-standin/calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def events(root: Path) -> list[dict[str, Any]]:
    return [c for c in calls(root) if c.get("event") == "upgraded"]


def wait_for(check: Callable[[], Any], what: str, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if got := check():
                return got
        except Exception:  # noqa: S110 (not up yet: try again)
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def ready(root: Path, name: str) -> str:
    node = client(root / "etc/kubernetes/admin.conf").read_node(name)
    return next(c.status for c in node.status.conditions if c.type == "Ready")


def cni(root: Path) -> None:
    path = root / "etc/cni/net.d/10-calico.conflist"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"cniVersion": "1.0.0", "name": "k8s-pod-network", "plugins": []}\n')


def tag(root: Path, component: str) -> str:
    pod = yaml.safe_load((root / f"etc/kubernetes/manifests/{component}.yaml").read_text())
    return pod["spec"]["containers"][0]["image"].rsplit(":", 1)[-1]


def version_of(root: Path) -> str:
    conf = yaml.safe_load((root / "etc/kubernetes/admin.conf").read_text())
    server = conf["clusters"][0]["cluster"]["server"]
    cfg = client(root / "etc/kubernetes/admin.conf").api_client.configuration
    ctx = __import__("ssl").create_default_context(cafile=cfg.ssl_ca_cert)
    ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
    with urllib.request.urlopen(f"{server}/version", context=ctx, timeout=5) as answer:  # noqa: S310 (https)
        return json.loads(answer.read())["gitVersion"]


@pytest.fixture
def cluster(tmp_path: Path, kubeadms: dict[str, Path], start_kubelet: Callable[[Path], None]) -> tuple[Path, int]:
    """cp-1 initialised by kubeadm 1.35.1 with its kubelet running (no CNI configuration yet)."""
    root, port = tmp_path / "cp-1", free_port()
    start_kubelet(root)
    proc = run(kubeadms["1.35.1"], root, "init", "--config", config(root, "config.yaml", init_docs(port)))
    assert proc.returncode == 0, proc.stderr
    config(root, "upgrade.yaml", [UPGRADE])
    return root, port


def test_kubelet_reports_its_version_and_readiness(cluster: tuple[Path, int]) -> None:
    root, _ = cluster
    started = [c for c in calls(root) if c["tool"] == "kubelet" and c["argv"][:1] == ["--config"]]
    assert started and started[0]["version"] == "1.35.1"
    assert wait_for(lambda: ready(root, "cp-1") == "False", "a NotReady node without CNI")
    cni(root)
    wait_for(lambda: ready(root, "cp-1") == "True", "the Ready condition once CNI is configured")
    node = client(root / "etc/kubernetes/admin.conf").read_node("cp-1")
    condition = next(c for c in node.status.conditions if c.type == "Ready")
    assert condition.reason == "KubeletReady" and node.status.node_info.kubelet_version == "v1.35.1"
    assert node.status.node_info.os_image  # the rest of nodeInfo stays (a merge patch)
    writes = [c for c in calls(root) if c.get("event") == "node-status"]
    time.sleep(2.5)
    assert [c for c in calls(root) if c.get("event") == "node-status"] == writes  # no change, no write


def test_upgrade_apply_rules_then_success(cluster: tuple[Path, int], kubeadms: dict[str, Path]) -> None:
    root, _ = cluster
    cfg = "/etc/kubernetes/kubeadm/upgrade.yaml"
    # kubeadm's order: preflight (a NotReady control plane), then the version rules
    not_ready = run(kubeadms["1.36.0"], root, "upgrade", "apply", "--config", cfg, "--yes")
    assert not_ready.returncode != 0
    assert "[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [cp-1]" in (
        not_ready.stderr
    )
    cni(root)
    wait_for(lambda: ready(root, "cp-1") == "True", "cp-1 Ready")
    old = run(kubeadms["1.35.1"], root, "upgrade", "apply", "--config", cfg, "--yes")
    assert old.returncode != 0
    assert (
        'Specified version to upgrade to "v1.36.0" is higher than the kubeadm version "v1.35.1". '
        "Upgrade kubeadm first using the tool you used to install kubeadm" in old.stderr
    ), old.stderr
    no_yes = run(kubeadms["1.36.0"], root, "upgrade", "apply", "--config", cfg)
    assert no_yes.returncode != 0 and "Are you sure you want to proceed" in no_yes.stderr
    skip = run(kubeadms["1.37.0"], root, "upgrade", "apply", "v1.37.0", "--yes")
    assert skip.returncode != 0
    assert (
        'Specified version to upgrade to "v1.37.0" is too high; kubeadm can upgrade only 1 minor version at a time'
    ) in skip.stderr
    assert tag(root, "kube-apiserver") == "v1.35.1" and not (root / "etc/kubernetes/tmp").exists()
    done = run(kubeadms["1.36.0"], root, "upgrade", "apply", "--config", cfg, "--yes")
    assert done.returncode == 0, done.stderr
    assert '[upgrade/successful] SUCCESS! Your cluster was upgraded to "v1.36.0". Enjoy!' in done.stdout
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        assert tag(root, component) == "v1.36.0"
    (backup,) = (root / "etc/kubernetes/tmp").glob("kubeadm-backup-manifests-*")
    assert yaml.safe_load((backup / "kube-apiserver.yaml").read_text())["spec"]["containers"][0]["image"].endswith(
        ":v1.35.1"
    )
    core = client(root / "etc/kubernetes/admin.conf")
    stored = yaml.safe_load(
        core.read_namespaced_config_map("kubeadm-config", "kube-system").data["ClusterConfiguration"]
    )
    assert stored["kubernetesVersion"] == "v1.36.0"
    state = json.loads((root / "var/lib/dockyard-standin/kubeadm-state.json").read_text())
    assert state["version"] == "v1.36.0"
    (event,) = events(root)
    assert (event["kind"], event["node"], event["from_version"], event["to_version"]) == (
        "apply",
        "cp-1",
        "v1.35.1",
        "v1.36.0",
    )
    wait_for(lambda: version_of(root) == "v1.36.0", "/version to follow the kube-apiserver manifest")
    again = run(kubeadms["1.36.0"], root, "upgrade", "apply", "--config", cfg, "--yes")
    assert again.returncode == 0 and "SUCCESS!" in again.stdout, again.stderr
    assert len(list((root / "etc/kubernetes/tmp").glob("kubeadm-backup-manifests-*"))) == 1
    assert events(root)[-1]["changed"] is False
    down = run(kubeadms["1.36.0"], root, "upgrade", "apply", "v1.35.1", "--yes")
    assert down.returncode != 0 and 'downgrade to "v1.35.1"' in down.stderr


def test_upgrade_node_on_a_control_plane_and_a_worker(
    cluster: tuple[Path, int], kubeadms: dict[str, Path], tmp_path: Path
) -> None:
    root, port = cluster
    old, new = kubeadms["1.35.1"], kubeadms["1.36.0"]
    cni(root)
    token, ca_hash = join_command(old, root)
    key = run(old, root, "init", "phase", "upload-certs", "--upload-certs").stdout.split()[-1]
    cp2, worker = tmp_path / "cp-2", tmp_path / "w-1"
    joined = run(old, cp2, "join", "--config", config(cp2, "j.yaml", join_docs(port, token, ca_hash, "cp-2", key)))
    assert joined.returncode == 0, joined.stderr
    for name in ("server", "peer", "healthcheck-client"):
        etcd_ca = str(root / "etc/kubernetes/pki/etcd/ca.crt")
        cert = str(cp2 / f"etc/kubernetes/pki/etcd/{name}.crt")
        verify = subprocess.run(["openssl", "verify", "-CAfile", etcd_ca, cert], capture_output=True, check=False)
        assert verify.returncode == 0, name
    worker_join = config(worker, "j.yaml", join_docs(port, token, ca_hash, "w-1"))
    assert run(old, worker, "join", "--config", worker_join).returncode == 0
    # cp-2 is a control plane without a kubelet here: its Node stays NotReady, so apply may skip the check
    cfg = config(root, "upgrade.yaml", [UPGRADE])
    applied = run(
        new, root, "upgrade", "apply", "--config", cfg, "--yes", "--ignore-preflight-errors=ControlPlaneNodesReady"
    )
    assert applied.returncode == 0, applied.stderr
    for node in (cp2, worker):
        config(node, "upgrade.yaml", [UPGRADE])
    too_old = run(old, worker, "upgrade", "node", "--config", cfg)
    assert too_old.returncode != 0 and 'kubeadm version "v1.35.1" is older than the cluster version "v1.36.0"' in (
        too_old.stderr
    )
    for node, name, control_plane in ((cp2, "cp-2", True), (worker, "w-1", False)):
        done = run(new, node, "upgrade", "node", "--config", cfg)
        assert done.returncode == 0, done.stderr
        assert "[upgrade] The configuration for this node was successfully upgraded!" in done.stdout
        (event,) = events(node)
        assert (event["kind"], event["node"], event["control_plane"]) == ("node", name, control_plane)
        assert (event["from_version"], event["to_version"]) == ("v1.35.1", "v1.36.0")
    assert tag(cp2, "kube-apiserver") == "v1.36.0" and list(
        (cp2 / "etc/kubernetes/tmp").glob("kubeadm-backup-manifests-*")
    )
    assert not (worker / "etc/kubernetes/manifests").exists()
    bad = run(new, worker, "upgrade", "node", "--config", cfg, "--dry-run")
    assert bad.returncode == 2 and "stand-in: unsupported" in bad.stderr


def test_etcd_tools(cluster: tuple[Path, int], etcd_tools: dict[str, Path]) -> None:
    root, _ = cluster

    def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/usr/bin/python3", str(etcd_tools[name]), *args],
            env={**os.environ, **standin_env(root)},
            capture_output=True,
            text=True,
            check=False,
        )

    assert tool("etcd", "--version").stdout.startswith(f"etcd Version: {etcd_catalogue()[0]}\n")
    for words in (("endpoint", "health", "--cluster"), ("endpoint", "--cluster", "health")):
        health = tool("etcdctl", *ETCD_TLS, *words)
        assert health.returncode == 0, health.stderr
        assert health.stdout == "https://127.0.0.1:2379 is healthy: successfully committed proposal: took = 1.2ms\n"
    wrong_ca = tool(
        "etcdctl", *ETCD_TLS[:1], "--cacert=/etc/kubernetes/pki/ca.crt", *ETCD_TLS[2:], "endpoint", "health"
    )
    assert wrong_ca.returncode == 1 and "unknown authority" in wrong_ca.stderr
    wrong_key = tool("etcdctl", *ETCD_TLS[:3], "--key=/etc/kubernetes/pki/etcd/server.key", "endpoint", "health")
    assert wrong_key.returncode == 1 and "private key does not match" in wrong_key.stderr
    other = tool("etcdctl", "--endpoints=https://10.0.0.1:2379", *ETCD_TLS[1:], "endpoint", "health")
    assert other.returncode == 2
    assert tool("etcdctl", *ETCD_TLS, "member", "list").returncode == 2
    (root / "var/lib/dockyard/etcd-snapshots").mkdir(parents=True)
    snap = "/var/lib/dockyard/etcd-snapshots/pre-1.36.0.db"
    saved = tool("etcdctl", *ETCD_TLS, "snapshot", "save", snap)
    assert saved.returncode == 0 and saved.stdout == f"Snapshot saved at {snap}\n", saved.stderr
    content = json.loads((root / snap.lstrip("/")).read_text())
    assert "STAND-IN" in content["note"] and content["kube_api"]["objects"]
    status = tool("etcdutl", "--write-out=json", "snapshot", "status", snap)
    assert status.returncode == 0, status.stderr
    got = json.loads(status.stdout)
    assert set(got) == {"hash", "revision", "totalKey", "totalSize", "version"}
    assert got["totalKey"] == len(content["kube_api"]["objects"]) and got["totalSize"] > 0
    (root / "not-a-snapshot.db").write_text("{}")
    assert tool("etcdutl", "--write-out=json", "snapshot", "status", "/not-a-snapshot.db").returncode == 1
    (root / "etc/kubernetes/manifests/etcd.yaml").unlink()
    assert "connection refused" in tool("etcdctl", *ETCD_TLS, "endpoint", "health").stderr
    logged = [c["tool"] for c in calls(root) if c["tool"].startswith("etcd")]
    assert logged.count("etcdctl") == 8 and logged.count("etcdutl") == 2 and logged.count("etcd") == 1


def test_serve_publishes_the_upgrade_and_etcd(tmp_path: Path) -> None:
    from tests.standins.kubernetes import serve  # noqa: PLC0415

    with TestUpstream(tmp_path / "files", None, None) as upstream:
        serve.publish_all(upstream, tmp_path / "build")
        base = list(upstream.published)
        newer = serve.publish_kubernetes(upstream, tmp_path / "build", "1.36.0")
        path = serve.write_upgrade_overlay(upstream, tmp_path, base, newer, "1.36.0")
    overlay = yaml.safe_load(path.read_text())["dockyard_catalogue"]
    assert path.name == "overlay-1.36.0.yml" and overlay["kubernetes"]["version"] == "1.36.0"
    for tool in ("kubeadm", "kubelet", "kubectl"):
        art = overlay["kubernetes"]["artefacts"][f"{tool}-linux-amd64"]
        assert art["url"].endswith(f"/dl.k8s.io/release/v1.36.0/bin/linux/amd64/{tool}")
        served = tmp_path / "files" / "dl.k8s.io/release/v1.36.0/bin/linux/amd64" / tool
        assert art["sha256"] == next(p.built.sha256 for p in newer if p.artefact == f"{tool}-linux-amd64")
        assert served.is_file()
    assert "crictl" in overlay and "cni_plugins" in overlay
    baked = subprocess.run(
        ["/usr/bin/python3", str(tmp_path / "files/dl.k8s.io/release/v1.36.0/bin/linux/amd64/kubelet"), "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKYARD_STANDIN_LOG": str(tmp_path / "calls.jsonl")},
    )
    assert baked.stdout == "Kubernetes v1.36.0 (stand-in)\n"
    if "etcd" in catalogue.product():  # the catalogue's etcd component (being added): served from its URL
        _version, url = etcd_catalogue()
        assert overlay["etcd"]["artefacts"]["etcd-linux-amd64"]["url"].endswith(url.removeprefix("https:/"))
