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
  does. One API double per cluster: control planes that join run no API server of their own. The
  API double's /version follows the kube-apiserver manifest's image tag (re-read while it runs), so
  after ``kubeadm upgrade apply`` it answers the new version. The pod's sandbox is recorded in
  /run/dockyard-standin/pods/<id>.json for the stand-in crictl; when crictl asks it to stop one
  (``<id>.stop``), it stops the API double, removes the sandbox and starts the pod again with a new
  one, reading the certificate files again (what the kubelet does after ``crictl stopp``);
* reports its Node's status as the kubelet does, with /etc/kubernetes/kubelet.conf's credentials
  (client certificate or token; the node name from its user ``system:node:<name>``): a merge patch
  of /api/v1/nodes/<name>/status with nodeInfo.kubeletVersion = v<its version> and the Ready
  condition, True (KubeletReady) once /etc/cni/net.d holds a *.conflist or *.conf (containerd's
  NetworkReady), else False with the runtime's NetworkPluginNotReady message; at start and whenever
  what the Node says differs from that (checked every 2 s; written only on a difference).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import standin_lib as s
import yaml
from kube_client import Api, from_kubeconfig

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


def serve_api(state: dict[str, Any]) -> tuple[Any, str]:
    """The API double, started, and the ID of the kube-apiserver pod's sandbox it runs in."""
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
    sandbox = s.new_sandbox(f"kube-apiserver-{socket.gethostname()}")
    s.record("kubelet", [], pod="kube-apiserver", url=api.url, sandbox=sandbox)
    return api, sandbox


NOT_READY = (
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:Network plugin returns error: cni plugin not initialized"
)
STATUS_EVERY_S = 2.0


def apiserver_version(manifests: Path, fallback: str) -> str:
    """The kube-apiserver static pod's image tag (what the API server it runs reports as its version)."""
    try:
        pod = yaml.safe_load((manifests / "kube-apiserver.yaml").read_text())
        return "v" + pod["spec"]["containers"][0]["image"].rsplit(":", 1)[-1].lstrip("v")
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return fallback


def network_ready() -> bool:
    """containerd's NetworkReady: a CNI network configuration in /etc/cni/net.d."""
    folder = host("/etc/cni/net.d")
    return folder.is_dir() and any(p.suffix in (".conflist", ".conf") for p in folder.iterdir() if p.is_file())


class NodeStatus:
    """The kubelet's node status updates: its kubeconfig's identity, merge patches of nodes/<name>/status."""

    def __init__(self) -> None:
        self.loaded: tuple[float, tuple[Api, str]] | None = None  # (kubelet.conf mtime, (client, node name))

    def _client(self) -> tuple[Api, str] | None:
        path = host("/etc/kubernetes/kubelet.conf")
        if not path.exists():
            return None
        mtime = path.stat().st_mtime
        if self.loaded is None or self.loaded[0] != mtime:
            conf = yaml.safe_load(path.read_text())
            api = from_kubeconfig(conf)
            api.timeout_s = 5
            self.loaded = (mtime, (api, str(conf["users"][0]["name"]).removeprefix("system:node:")))
        return self.loaded[1]

    def report(self) -> None:
        """Patch the Node's status when it differs from what this kubelet would report."""
        client = self._client()
        if client is None:
            return
        api, name = client
        ready = network_ready()
        try:
            code, node = api.call("GET", f"/api/v1/nodes/{name}/status")
            if code != 200:
                return  # not registered yet (kubeadm registers it), or the API is not up
            status = node.get("status") or {}
            condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
            wanted = "True" if ready else "False"
            kubelet_version = f"v{VERSION.lstrip('v')}"
            if (status.get("nodeInfo") or {}).get("kubeletVersion") == kubelet_version and (
                condition.get("status") == wanted
            ):
                return
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            ready_condition = {
                "type": "Ready",
                "status": wanted,
                "reason": "KubeletReady" if ready else "KubeletNotReady",
                "message": "kubelet is posting ready status" if ready else NOT_READY,
                "lastHeartbeatTime": now,
                "lastTransitionTime": now
                if condition.get("status") != wanted
                else condition.get("lastTransitionTime", now),
            }
            others = [c for c in status.get("conditions") or [] if c.get("type") != "Ready"]
            patch = {
                "status": {"nodeInfo": {"kubeletVersion": kubelet_version}, "conditions": [*others, ready_condition]}
            }
            path = f"/api/v1/nodes/{name}/status?fieldManager=kubelet"
            code, _ = api.call("PATCH", path, patch, content_type="application/merge-patch+json")
            if code < 300:
                s.record("kubelet", [], event="node-status", node=name, version=kubelet_version, ready=ready)
        except (OSError, ValueError):
            return  # the API server is not reachable yet: the next round tries again


def hold_vip(manifest: Path) -> None:
    pod = yaml.safe_load(manifest.read_text())
    env = {e["name"]: e.get("value", "") for e in pod["spec"]["containers"][0].get("env", [])}
    address, interface = env.get("address", ""), env.get("vip_interface", "eth0")
    shown = subprocess.run(["ip", "-o", "addr", "show", "dev", interface], capture_output=True, text=True, check=False)
    if address and f" {address}/" not in shown.stdout:
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", interface], check=True)
        s.record("kubelet", [], pod="kube-vip", vip=address, interface=interface)


def main() -> None:
    s.record("kubelet", sys.argv[1:], version=VERSION)
    cmd = s.parse("kubelet", sys.argv[1:], SPEC, log=False)
    if cmd.flag("--version"):
        print(f"Kubernetes v{VERSION} (stand-in)")
        return
    config = cmd.flag("--config")
    if not config or not os.path.exists(config):
        s.fail(f"E: failed to load kubelet config file, path: {config}: no such file (kubeadm init/join writes it)")
    manifests = host("/etc/kubernetes/manifests")
    api = None
    sandbox = ""
    vip_held = False
    status = NodeStatus()
    next_status = 0.0
    while True:  # a running kubelet, as far as systemd can tell; static pods appear while it runs
        state = kubeadm_state()
        if state.get("serves_api") and api is None and (manifests / "kube-apiserver.yaml").exists():
            api, sandbox = serve_api(state)
        if api is not None and s.take_stop_request(sandbox):
            api.__exit__(None, None, None)
            s.record("kubelet", [], event="sandbox-stopped", pod="kube-apiserver", sandbox=sandbox)
            api = None
            continue  # the next round starts the pod again, in a new sandbox
        if api is not None:
            api.git_version = apiserver_version(manifests, api.git_version)
        if api is not None and not vip_held and (manifests / "kube-vip.yaml").exists():
            hold_vip(manifests / "kube-vip.yaml")
            vip_held = True
        if time.monotonic() >= next_status:
            status.report()
            next_status = time.monotonic() + STATUS_EVERY_S
        time.sleep(1)


if __name__ == "__main__":
    main()
