"""The stand-in kubeadm (tests/standins/kubernetes) in a throwaway root: it refuses what the reference
does not document, validates configs strictly, records every call, and leaves what kubeadm leaves:
PKI whose API server certificate carries the wanted SANs, the kubeconfigs, the kubelet's files; its
join command carries the real hash of the CA's public key."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.standins.kubernetes.build import build_kubeadm

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kubeadm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_kubeadm(tmp_path_factory.mktemp("standin") / "kubeadm").path


@pytest.fixture
def node(tmp_path: Path) -> Path:
    return tmp_path / "node"


def run(kubeadm: Path, node: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DOCKYARD_STANDIN_ROOT": str(node),
        "DOCKYARD_STANDIN_LOG": str(node / "var/log/dockyard-standin/calls.jsonl"),
    }
    return subprocess.run(
        ["/usr/bin/python3", str(kubeadm), *args], env=env, capture_output=True, text=True, check=False
    )


def config(node: Path, name: str, docs: list[dict[str, Any]]) -> str:
    path = node / "etc/kubernetes/kubeadm" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs))
    return f"/etc/kubernetes/kubeadm/{name}"


INIT = [
    {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "InitConfiguration",
        "localAPIEndpoint": {"advertiseAddress": "192.0.2.11", "bindPort": 6443},
        "nodeRegistration": {"name": "cp-1", "criSocket": "unix:///run/containerd/containerd.sock"},
    },
    {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "ClusterConfiguration",
        "kubernetesVersion": "v1.35.1",
        "controlPlaneEndpoint": "192.0.2.100:6443",
        "networking": {"podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/12"},
        "apiServer": {"certSANs": ["192.0.2.100", "cp-2", "192.0.2.12"]},
    },
    {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "systemd",
        "containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock",
    },
]


def sans(cert: Path) -> str:
    out = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_init_leaves_the_node_as_kubeadm_does(kubeadm: Path, node: Path) -> None:
    proc = run(kubeadm, node, "init", "--config", config(node, "config.yaml", INIT), "--upload-certs")
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
    assert admin["clusters"][0]["cluster"]["server"] == "https://192.0.2.100:6443"
    assert yaml.safe_load((node / "var/lib/kubelet/config.yaml").read_text())["cgroupDriver"] == "systemd"
    again = run(kubeadm, node, "init", "--config", "/etc/kubernetes/kubeadm/config.yaml")
    assert again.returncode != 0 and "FileAvailable" in again.stderr


def test_join_command_and_certificate_key(kubeadm: Path, node: Path) -> None:
    assert run(kubeadm, node, "init", "--config", config(node, "config.yaml", INIT)).returncode == 0
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
    assert words[2] == "192.0.2.100:6443"


def test_san_drift_rebuilds_only_the_apiserver_certificate(kubeadm: Path, node: Path) -> None:
    path = config(node, "config.yaml", INIT)
    assert run(kubeadm, node, "init", "--config", path).returncode == 0
    ca = (node / "etc/kubernetes/pki/ca.crt").read_bytes()
    grown = [INIT[0], {**INIT[1], "apiServer": {"certSANs": [*INIT[1]["apiServer"]["certSANs"], "cp-3"]}}, INIT[2]]
    config(node, "config.yaml", grown)
    (node / "etc/kubernetes/pki/apiserver.crt").unlink()
    (node / "etc/kubernetes/pki/apiserver.key").unlink()
    assert run(kubeadm, node, "init", "phase", "certs", "apiserver", "--config", path).returncode == 0
    assert "DNS:cp-3" in sans(node / "etc/kubernetes/pki/apiserver.crt")
    assert (node / "etc/kubernetes/pki/ca.crt").read_bytes() == ca


def test_join_pins_the_ca(kubeadm: Path, node: Path) -> None:
    base = {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration"}
    skip = {
        **base,
        "discovery": {
            "bootstrapToken": {"apiServerEndpoint": "x:6443", "token": "a.b", "unsafeSkipCAVerification": True}
        },
    }
    refused = run(kubeadm, node, "join", "--config", config(node, "join.yaml", [skip]))
    assert refused.returncode != 0 and "caCertHashes" in refused.stderr
    good = {
        **base,
        "discovery": {
            "bootstrapToken": {
                "apiServerEndpoint": "192.0.2.100:6443",
                "token": "abcdef.0123456789abcdef",
                "caCertHashes": ["sha256:" + "0" * 64],
            }
        },
        "nodeRegistration": {"name": "worker-1"},
    }
    joined = run(kubeadm, node, "join", "--config", config(node, "join.yaml", [good]))
    assert joined.returncode == 0, joined.stderr
    assert (node / "etc/kubernetes/kubelet.conf").is_file()
    assert run(kubeadm, node, "reset", "--force").returncode == 0
    assert not (node / "etc/kubernetes/kubelet.conf").exists()


def test_refuses_unknown_fields_and_flags(kubeadm: Path, node: Path) -> None:
    bad = [INIT[0], {**INIT[1], "networking": {"podCIDR": "10.244.0.0/16"}}]
    proc = run(kubeadm, node, "init", "--config", config(node, "config.yaml", bad))
    assert proc.returncode != 0 and "networking.podCIDR: unknown field" in proc.stderr
    flag = run(kubeadm, node, "init", "--config", "/x", "--skip-preflight")
    assert flag.returncode == 2 and "stand-in: unsupported kubeadm init flag --skip-preflight" in flag.stderr
    calls = [json.loads(line) for line in (node / "var/log/dockyard-standin/calls.jsonl").read_text().splitlines()]
    assert [c["argv"][0] for c in calls] == ["init", "init"]


def test_node_tool_standins(tmp_path: Path) -> None:
    from tests.standins.kubernetes.node_tools import build_kubelet, build_version_only  # noqa: PLC0415

    env = {**os.environ, "DOCKYARD_STANDIN_LOG": str(tmp_path / "calls.jsonl")}

    def call(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/usr/bin/python3", str(path), *args], env=env, capture_output=True, text=True, check=False
        )

    crictl = build_version_only(tmp_path / "crictl", "crictl", "1.35.0").path
    assert call(crictl, "--version").stdout == "crictl v1.35.0 (stand-in)\n"
    assert call(crictl, "pull", "x").returncode == 2
    kubelet = build_kubelet(tmp_path / "kubelet", "1.35.1").path
    assert call(kubelet, "--version").stdout == "Kubernetes v1.35.1 (stand-in)\n"
    assert "unsupported kubelet  flag --bogus" in call(kubelet, "--bogus").stderr
    missing = call(kubelet, "--config", str(tmp_path / "none.yaml"))
    assert missing.returncode == 1 and "failed to load kubelet config file" in missing.stderr
    logged = [json.loads(line)["tool"] for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert logged == ["crictl", "crictl", "kubelet", "kubelet", "kubelet"]
