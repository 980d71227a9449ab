"""STAND-INS (tests only) for the node binaries the kubernetes/node role installs besides kubeadm:
kubelet, kubectl (single executables, as dl.k8s.io ships them), crictl (release tarball with one
`crictl` at the top, as cri-tools ships it) and the CNI plugins (tarball of plugin executables at
the top, as containernetworking/plugins ships it). Each is a zipapp carrying standin_lib; each
records its calls and refuses what it does not know. No CLI reference for kubelet or crictl is in the
reference set, so they accept only `--version` and, for the kubelet, the flags kubeadm's drop-in
passes (kubernetes/release 10-kubeadm.conf); kubectl and crictl take the calls the product makes
(kubectl_main.py, crictl_main.py: `crictl pods --name -q`, `crictl stopp`)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import yaml

from tests.fakes import kube_api, kube_cluster
from tests.standins import standin_lib
from tests.standins.built import Built
from tests.standins.tarballs import build_tarball

CNI_MAIN = """
import json, os, sys
import standin_lib as s
s.record("cni-__PLUGIN__", sys.argv[1:], command=os.environ.get("CNI_COMMAND", ""))
if os.environ.get("CNI_COMMAND") == "VERSION":
    print(json.dumps({"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]}))
    sys.exit(0)
s.unsupported(f"CNI_COMMAND {os.environ.get('CNI_COMMAND')!r} (stand-in plugin)")
"""

HERE = Path(__file__).resolve().parent
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")


def zipapp(out_path: Path, main: str, extra: dict[str, bytes] | None = None) -> Built:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("wb") as raw:
        raw.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in (
                ("__main__.py", main.encode()),
                ("standin_lib.py", Path(standin_lib.__file__).read_bytes()),
                *sorted((extra or {}).items()),
            ):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                z.writestr(info, data, zipfile.ZIP_DEFLATED)
    out_path.chmod(0o755)
    return Built.of(out_path)


def build_kubelet(out_path: Path, version: str) -> Built:
    """The kubelet (kubelet_main.py) with its API client and what it runs as static pods: the API double."""
    extra = {
        "tests/__init__.py": b"",
        "tests/fakes/__init__.py": b"",
        "tests/fakes/kube_api.py": Path(kube_api.__file__).read_bytes(),
        "tests/fakes/kube_cluster.py": Path(kube_cluster.__file__).read_bytes(),
        "kube_client.py": (HERE / "kube_client.py").read_bytes(),
        **{f"yaml/{p.name}": p.read_bytes() for p in sorted(Path(yaml.__file__).parent.glob("*.py"))},
    }
    return zipapp(out_path, (HERE / "kubelet_main.py").read_text().replace("__VERSION__", version), extra)


def build_kubectl(out_path: Path, version: str) -> Built:
    """kubectl (kubectl_main.py) with its kustomize subset and the API client."""
    extra = {
        "kustomize.py": (HERE / "kustomize.py").read_bytes(),
        "kube_client.py": (HERE / "kube_client.py").read_bytes(),
        **{f"yaml/{p.name}": p.read_bytes() for p in sorted(Path(yaml.__file__).parent.glob("*.py"))},
    }
    return zipapp(out_path, (HERE / "kubectl_main.py").read_text().replace("__VERSION__", version), extra)


CALICO_MANIFEST = HERE.parents[1] / "reference" / "calico" / "manifests" / "calico.yaml"


def calico_manifest(out_path: Path) -> Built:
    """NOT a stand-in: Calico's real manifest (tests/reference/calico, v3.31.7, byte-identical to
    upstream), served at the catalogue's URL so the calico role applies the real thing."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(CALICO_MANIFEST.read_bytes())
    return Built.of(out_path)


def build_crictl(out_path: Path, version: str) -> Built:
    """crictl (crictl_main.py): --version, and the pods/stopp calls the product makes."""
    return zipapp(out_path, (HERE / "crictl_main.py").read_text().replace("__VERSION__", version))


def build_crictl_tarball(out_path: Path, work: Path, version: str) -> Built:
    binary = build_crictl(work / "crictl", version)
    return build_tarball(out_path, None, {"crictl": (binary.path.read_bytes(), 0o755)})


def build_cni_tarball(out_path: Path, work: Path) -> Built:
    files = {}
    for plugin in CNI_PLUGINS:
        files[plugin] = (
            zipapp(work / f"cni-{plugin}", CNI_MAIN.replace("__PLUGIN__", plugin)).path.read_bytes(),
            0o755,
        )
    return build_tarball(out_path, None, files)
