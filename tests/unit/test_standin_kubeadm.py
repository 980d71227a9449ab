"""The stand-in kubeadm (tests/standins/kubernetes) in a throwaway root: it refuses what the reference
does not document, validates configs strictly, records every call, and leaves what kubeadm leaves:
PKI whose API server certificate carries the wanted SANs, the kubeconfigs, the kubelet's files; its
join command carries the real hash of the CA's public key."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as kube_config

from tests.standins.kubernetes.build import build_kubeadm
from tests.standins.kubernetes.node_tools import build_kubelet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kubeadm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_kubeadm(tmp_path_factory.mktemp("standin") / "kubeadm", "1.35.1").path


@pytest.fixture(scope="module")
def kubelet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_kubelet(tmp_path_factory.mktemp("standin") / "kubelet", "1.35.1").path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def node(tmp_path: Path, kubelet: Path) -> Iterator[Path]:
    """A throwaway root with the stand-in kubelet running in it (as systemd keeps it running)."""
    root = tmp_path / "node"
    config = root / "var/lib/kubelet/config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")
    proc = subprocess.Popen(
        ["/usr/bin/python3", str(kubelet), "--config", str(config)],
        env={**os.environ, **standin_env(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield root
    proc.terminate()
    proc.wait(timeout=10)


def standin_env(root: Path) -> dict[str, str]:
    return {
        "DOCKYARD_STANDIN_ROOT": str(root),
        "DOCKYARD_STANDIN_LOG": str(root / "var/log/dockyard-standin/calls.jsonl"),
    }


def run(kubeadm: Path, node: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/python3", str(kubeadm), *args],
        env={**os.environ, **standin_env(node)},
        capture_output=True,
        text=True,
        check=False,
    )


def config(node: Path, name: str, docs: list[dict[str, Any]]) -> str:
    path = node / "etc/kubernetes/kubeadm" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs))
    return f"/etc/kubernetes/kubeadm/{name}"


def init_docs(port: int) -> list[dict[str, Any]]:
    """A first control plane on loopback; the extra SANs are only written into the certificate."""
    return [
        {
            "apiVersion": "kubeadm.k8s.io/v1beta4",
            "kind": "InitConfiguration",
            "localAPIEndpoint": {"advertiseAddress": "127.0.0.1", "bindPort": port},
            "nodeRegistration": {"name": "cp-1", "criSocket": "unix:///run/containerd/containerd.sock"},
        },
        {
            "apiVersion": "kubeadm.k8s.io/v1beta4",
            "kind": "ClusterConfiguration",
            "kubernetesVersion": "v1.35.1",
            "controlPlaneEndpoint": f"127.0.0.1:{port}",
            "networking": {"podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/12"},
            "apiServer": {"certSANs": ["192.0.2.100", "cp-2", "192.0.2.12", "127.0.0.1"]},
        },
        {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "cgroupDriver": "systemd",
            "containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock",
        },
    ]


def client(kubeconfig: Path) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(kube_config.new_client_from_config(str(kubeconfig)))


def join_docs(port: int, token: str, ca_hash: str, name: str, certificate_key: str = "") -> list[dict[str, Any]]:
    doc: dict[str, Any] = {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "JoinConfiguration",
        "discovery": {
            "bootstrapToken": {"apiServerEndpoint": f"127.0.0.1:{port}", "token": token, "caCertHashes": [ca_hash]}
        },
        "nodeRegistration": {"name": name},
    }
    if certificate_key:
        doc["controlPlane"] = {
            "localAPIEndpoint": {"advertiseAddress": "127.0.0.1", "bindPort": port},
            "certificateKey": certificate_key,
        }
    return [doc]


def join_command(kubeadm: Path, node: Path) -> tuple[str, str]:
    out = run(kubeadm, node, "token", "create", "--print-join-command", "--ttl", "1h")
    assert out.returncode == 0, out.stderr
    words = out.stdout.split()
    return words[words.index("--token") + 1], words[words.index("--discovery-token-ca-cert-hash") + 1]


def sans(cert: Path) -> str:
    out = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_init_leaves_the_node_as_kubeadm_does(kubeadm: Path, node: Path, port: int) -> None:
    proc = run(kubeadm, node, "init", "--config", config(node, "config.yaml", init_docs(port)), "--upload-certs")
    assert proc.returncode == 0, proc.stderr
    for path in (
        "etc/kubernetes/admin.conf",
        "etc/kubernetes/super-admin.conf",
        "etc/kubernetes/kubelet.conf",
        "etc/kubernetes/pki/ca.crt",
        "etc/kubernetes/pki/apiserver.key",
        "var/lib/kubelet/config.yaml",
        "var/lib/kubelet/kubeadm-flags.env",
        "etc/kubernetes/manifests/kube-apiserver.yaml",
    ):
        assert (node / path).is_file(), path
    assert (node / "etc/kubernetes/admin.conf").stat().st_mode & 0o777 == 0o600
    text = sans(node / "etc/kubernetes/pki/apiserver.crt")
    for want in ("IP Address:192.0.2.100", "DNS:cp-2", "IP Address:192.0.2.12", "IP Address:10.96.0.1", "DNS:cp-1"):
        assert want in text, text
    admin = yaml.safe_load((node / "etc/kubernetes/admin.conf").read_text())
    assert admin["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{port}"
    assert yaml.safe_load((node / "var/lib/kubelet/config.yaml").read_text())["cgroupDriver"] == "systemd"
    # The API the kubelet serves, with the CA kubeadm made: the admin kubeconfig works for real.
    core = client(node / "etc/kubernetes/admin.conf")
    (cp,) = core.list_node().items
    assert cp.metadata.name == "cp-1" and "node-role.kubernetes.io/control-plane" in cp.metadata.labels
    assert cp.status.node_info.kubelet_version == "v1.35.1"
    info = core.read_namespaced_config_map("cluster-info", "kube-public").data["kubeconfig"]
    assert f"https://127.0.0.1:{port}" in info
    again = run(kubeadm, node, "init", "--config", "/etc/kubernetes/kubeadm/config.yaml")
    assert again.returncode != 0 and "FileAvailable" in again.stderr


def test_the_api_refuses_strangers(kubeadm: Path, node: Path, port: int) -> None:
    assert run(kubeadm, node, "init", "--config", config(node, "config.yaml", init_docs(port))).returncode == 0
    conf = yaml.safe_load((node / "etc/kubernetes/admin.conf").read_text())
    user = conf["users"][0]["user"]
    conf["users"][0]["user"] = {"token": "abcdef.0123456789abcdef"}
    (node / "stranger.conf").write_text(yaml.safe_dump(conf))
    with pytest.raises(k8s.ApiException) as refused:
        client(node / "stranger.conf").list_node()
    assert refused.value.status == 401
    conf["users"][0]["user"] = user
    conf["clusters"][0]["cluster"]["certificate-authority-data"] = conf["users"][0]["user"]["client-certificate-data"]
    (node / "wrong-ca.conf").write_text(yaml.safe_dump(conf))
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        client(node / "wrong-ca.conf").list_node()


def test_join_command_and_certificate_key(kubeadm: Path, node: Path, port: int) -> None:
    assert run(kubeadm, node, "init", "--config", config(node, "config.yaml", init_docs(port))).returncode == 0
    key = run(kubeadm, node, "init", "phase", "upload-certs", "--upload-certs")
    assert key.returncode == 0 and len(key.stdout.strip().splitlines()[-1]) == 64
    key2 = run(kubeadm, node, "init", "phase", "upload-certs", "--upload-certs").stdout.strip().splitlines()[-1]
    assert key2 != key.stdout.strip().splitlines()[-1]  # fresh every time
    join = run(kubeadm, node, "token", "create", "--print-join-command", "--ttl", "1h")
    assert join.returncode == 0, join.stderr
    words = join.stdout.split()
    pub = subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout", "-in", str(node / "etc/kubernetes/pki/ca.crt")],
        capture_output=True,
        check=True,
    ).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True, check=True
    ).stdout
    assert words[words.index("--discovery-token-ca-cert-hash") + 1] == "sha256:" + hashlib.sha256(der).hexdigest()
    assert words[2] == f"127.0.0.1:{port}"
    token_id = words[words.index("--token") + 1].split(".")[0]
    secret = client(node / "etc/kubernetes/admin.conf").read_namespaced_secret(
        f"bootstrap-token-{token_id}", "kube-system"
    )
    assert secret.type == "bootstrap.kubernetes.io/token"


def test_san_drift_rebuilds_only_the_apiserver_certificate(kubeadm: Path, node: Path, port: int) -> None:
    docs = init_docs(port)
    path = config(node, "config.yaml", docs)
    assert run(kubeadm, node, "init", "--config", path).returncode == 0
    ca = (node / "etc/kubernetes/pki/ca.crt").read_bytes()
    grown = [docs[0], {**docs[1], "apiServer": {"certSANs": [*docs[1]["apiServer"]["certSANs"], "cp-3"]}}, docs[2]]
    config(node, "config.yaml", grown)
    (node / "etc/kubernetes/pki/apiserver.crt").unlink()
    (node / "etc/kubernetes/pki/apiserver.key").unlink()
    assert run(kubeadm, node, "init", "phase", "certs", "apiserver", "--config", path).returncode == 0
    assert "DNS:cp-3" in sans(node / "etc/kubernetes/pki/apiserver.crt")
    assert (node / "etc/kubernetes/pki/ca.crt").read_bytes() == ca


def test_joins_register_nodes_and_pin_the_ca(kubeadm: Path, node: Path, port: int, tmp_path: Path) -> None:
    assert run(kubeadm, node, "init", "--config", config(node, "config.yaml", init_docs(port))).returncode == 0
    base = {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration"}
    worker = tmp_path / "worker"
    skip = {
        **base,
        "discovery": {
            "bootstrapToken": {"apiServerEndpoint": "x:6443", "token": "a.b", "unsafeSkipCAVerification": True}
        },
    }
    refused = run(kubeadm, worker, "join", "--config", config(worker, "join.yaml", [skip]))
    assert refused.returncode != 0 and "caCertHashes" in refused.stderr
    token, ca_hash = join_command(kubeadm, node)
    wrong_ca = run(
        kubeadm,
        worker,
        "join",
        "--config",
        config(worker, "j.yaml", join_docs(port, token, "sha256:" + "0" * 64, "w-1")),
    )
    assert wrong_ca.returncode != 0 and "are pinned" in wrong_ca.stderr
    bad_token = run(
        kubeadm,
        worker,
        "join",
        "--config",
        config(worker, "j.yaml", join_docs(port, "abcdef.0123456789abcdef", ca_hash, "w-1")),
    )
    assert bad_token.returncode != 0 and "bootstrap token is invalid" in bad_token.stderr
    joined = run(kubeadm, worker, "join", "--config", config(worker, "j.yaml", join_docs(port, token, ca_hash, "w-1")))
    assert joined.returncode == 0, joined.stderr
    assert (worker / "etc/kubernetes/kubelet.conf").is_file()
    assert (worker / "etc/kubernetes/pki/ca.crt").read_bytes() == (node / "etc/kubernetes/pki/ca.crt").read_bytes()
    # A control plane needs the latest certificate key: an older one is refused.
    old = run(kubeadm, node, "init", "phase", "upload-certs", "--upload-certs").stdout.split()[-1]
    new = run(kubeadm, node, "init", "phase", "upload-certs", "--upload-certs").stdout.split()[-1]
    cp2 = tmp_path / "cp-2"
    stale = run(kubeadm, cp2, "join", "--config", config(cp2, "j.yaml", join_docs(port, token, ca_hash, "cp-2", old)))
    assert stale.returncode != 0 and "certificate key is wrong" in stale.stderr
    cp_joined = run(
        kubeadm, cp2, "join", "--config", config(cp2, "j.yaml", join_docs(port, token, ca_hash, "cp-2", new))
    )
    assert cp_joined.returncode == 0, cp_joined.stderr
    assert (cp2 / "etc/kubernetes/pki/ca.key").read_bytes() == (node / "etc/kubernetes/pki/ca.key").read_bytes()
    nodes = {n.metadata.name: n for n in client(cp2 / "etc/kubernetes/admin.conf").list_node().items}
    assert sorted(nodes) == ["cp-1", "cp-2", "w-1"]
    assert "node-role.kubernetes.io/control-plane" not in nodes["w-1"].metadata.labels
    assert run(kubeadm, worker, "reset", "--force").returncode == 0
    assert not (worker / "etc/kubernetes/kubelet.conf").exists()


def test_refuses_unknown_fields_and_flags(kubeadm: Path, node: Path, port: int) -> None:
    docs = init_docs(port)
    bad = [docs[0], {**docs[1], "networking": {"podCIDR": "10.244.0.0/16"}}]
    proc = run(kubeadm, node, "init", "--config", config(node, "config.yaml", bad))
    assert proc.returncode != 0 and "networking.podCIDR: unknown field" in proc.stderr
    flag = run(kubeadm, node, "init", "--config", "/x", "--skip-preflight")
    assert flag.returncode == 2 and "stand-in: unsupported kubeadm init flag --skip-preflight" in flag.stderr
    calls = [json.loads(line) for line in (node / "var/log/dockyard-standin/calls.jsonl").read_text().splitlines()]
    assert [c["argv"][0] for c in calls if c["tool"] == "kubeadm"] == ["init", "init"]


def test_node_tool_standins(tmp_path: Path) -> None:
    from tests.standins.kubernetes.node_tools import build_crictl  # noqa: PLC0415

    env = {**os.environ, "DOCKYARD_STANDIN_LOG": str(tmp_path / "calls.jsonl")}

    def call(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/usr/bin/python3", str(path), *args], env=env, capture_output=True, text=True, check=False
        )

    crictl = build_crictl(tmp_path / "crictl", "1.35.0").path
    assert call(crictl, "--version").stdout == "crictl version v1.35.0 (stand-in)\n"
    assert call(crictl, "pull", "x").returncode == 2
    kubelet = build_kubelet(tmp_path / "kubelet", "1.35.1").path
    assert call(kubelet, "--version").stdout == "Kubernetes v1.35.1 (stand-in)\n"
    assert "unsupported kubelet  flag --bogus" in call(kubelet, "--bogus").stderr
    missing = call(kubelet, "--config", str(tmp_path / "none.yaml"))
    assert missing.returncode == 1 and "failed to load kubelet config file" in missing.stderr
    logged = [json.loads(line)["tool"] for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert logged == ["crictl", "crictl", "kubelet", "kubelet", "kubelet"]


def test_crictl_stops_a_sandbox_the_kubelet_runs(tmp_path: Path) -> None:
    """crictl pods --name REGEX -q lists the kubelet's sandboxes; stopp returns once the kubelet (here a
    thread doing what kubelet_main does on a stop request) has removed the sandbox."""
    import threading  # noqa: PLC0415

    from tests.standins.kubernetes.node_tools import build_crictl  # noqa: PLC0415

    root = tmp_path / "node"
    pods = root / "run/dockyard-standin/pods"
    pods.mkdir(parents=True)
    for pod_id, name in (("a1", "kube-apiserver-cp-1"), ("b2", "etcd-cp-1")):
        (pods / f"{pod_id}.json").write_text(json.dumps({"id": pod_id, "name": name, "namespace": "kube-system"}))
    env = {**os.environ, "DOCKYARD_STANDIN_LOG": str(tmp_path / "calls.jsonl"), "DOCKYARD_STANDIN_ROOT": str(root)}
    crictl = str(build_crictl(tmp_path / "crictl", "1.35.0").path)

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["/usr/bin/python3", crictl, *args], env=env, capture_output=True, text=True, check=False)

    assert call("pods", "--name", "kube-apiserver", "-q").stdout == "a1\n"
    assert call("pods", "--quiet").stdout == "a1\nb2\n"

    def kubelet() -> None:
        while not (pods / "a1.stop").exists():
            threading.Event().wait(0.05)
        (pods / "a1.json").unlink()
        (pods / "a1.stop").unlink()

    worker = threading.Thread(target=kubelet)
    worker.start()
    stopped = call("stopp", "a1")
    worker.join(10)
    assert stopped.returncode == 0 and stopped.stdout == "Stopped sandbox a1\n", stopped.stderr
    assert call("pods", "-q").stdout == "b2\n"
    unknown = call("stopp", "zz")
    assert unknown.returncode == 1 and "NotFound" in unknown.stderr
    assert call("ps").returncode == 2  # not a call the product makes
