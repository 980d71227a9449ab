"""STAND-IN for the kubelet (Dockyard tests only; never part of the product). Runs on a test host as
/usr/local/bin/kubelet under the kubelet unit kubeadm's drop-in configures (a zipapp: this file,
standin_lib, pure-Python PyYAML and the Kubernetes API test double tests/fakes/kube_api.py).

* accepts only the flags kubeadm's drop-in (kubernetes/release 10-kubeadm.conf) and
  kubeadm-flags.env pass, and ``--version``; records its start (standin_lib.record);
* refuses to start without its config file, as the kubelet does (systemd restarts it until
  ``kubeadm init``/``join`` writes /var/lib/kubelet/config.yaml);
* "runs" the static pods of /etc/kubernetes/manifests that a test needs, and only on the node where
  the stand-in ``kubeadm init`` ran (its state says ``serves_api``): the kube-apiserver pod is the
  API test double over HTTPS with the certificate kubeadm made (pki/apiserver.crt, clients verified
  against pki/ca.crt), on 0.0.0.0:<localAPIEndpoint.bindPort>, its objects kept in
  /var/lib/dockyard-standin/kube-api.json so a restarted kubelet brings the same cluster back; the
  kube-vip pod, when present, holds the VIP on its interface (``ip addr add``) as kube-vip's leader
  does. One API double per cluster: control planes that join run no API server of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import standin_lib as s
import yaml

VERSION = "__VERSION__"
ROOT = Path(os.environ.get("DOCKYARD_STANDIN_ROOT", "/"))
SPEC = {
    "": {
        "flags": {
            "--bootstrap-kubeconfig": True,
            "--kubeconfig": True,
            "--config": True,
            "--container-runtime-endpoint": True,
            "--pod-infra-container-image": True,
            "--node-ip": True,
            "--version": False,
        },
        "args": (0, 0),
    }
}


def host(path: str) -> Path:
    return ROOT / path.lstrip("/")


def kubeadm_state() -> dict[str, Any]:
    path = host("/var/lib/dockyard-standin/kubeadm-state.json")
    return json.loads(path.read_text()) if path.exists() else {}


def serve_api(state: dict[str, Any]) -> Any:
    from tests.fakes.kube_api import ClusterTLS, KubeAPI  # noqa: PLC0415 (only where the API runs)

    pki = host(state.get("certificates_dir", "/etc/kubernetes/pki"))
    api = KubeAPI(
        token=None,
        crds_installed=False,
        bind=("0.0.0.0", int(state.get("bind_port", 6443))),  # noqa: S104 (kube-apiserver's default bind address)
        tls=ClusterTLS(pki / "apiserver.crt", pki / "apiserver.key", pki / "ca.crt"),
        state_file=host("/var/lib/dockyard-standin/kube-api.json"),
    )
    api.git_version = str(state.get("version", "v0.0.0"))
    api.__enter__()
    s.record("kubelet", [], pod="kube-apiserver", url=api.url)
    return api


def hold_vip(manifest: Path) -> None:
    pod = yaml.safe_load(manifest.read_text())
    env = {e["name"]: e.get("value", "") for e in pod["spec"]["containers"][0].get("env", [])}
    address, interface = env.get("address", ""), env.get("vip_interface", "eth0")
    shown = subprocess.run(["ip", "-o", "addr", "show", "dev", interface], capture_output=True, text=True, check=False)
    if address and f" {address}/" not in shown.stdout:
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", interface], check=True)
        s.record("kubelet", [], pod="kube-vip", vip=address, interface=interface)


def main() -> None:
    cmd = s.parse("kubelet", sys.argv[1:], SPEC)
    if cmd.flag("--version"):
        print(f"Kubernetes v{VERSION} (stand-in)")
        return
    config = cmd.flag("--config")
    if not config or not os.path.exists(config):
        s.fail(f"E: failed to load kubelet config file, path: {config}: no such file (kubeadm init/join writes it)")
    manifests = host("/etc/kubernetes/manifests")
    api = None
    vip_held = False
    while True:  # a running kubelet, as far as systemd can tell; static pods appear while it runs
        state = kubeadm_state()
        if state.get("serves_api") and api is None and (manifests / "kube-apiserver.yaml").exists():
            api = serve_api(state)
        if api is not None and not vip_held and (manifests / "kube-vip.yaml").exists():
            hold_vip(manifests / "kube-vip.yaml")
            vip_held = True
        time.sleep(1)


if __name__ == "__main__":
    main()
