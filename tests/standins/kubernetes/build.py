"""Build the stand-in kubeadm (tests only): one executable file, as upstream ships kubeadm, named
`kubeadm`; a Python zipapp carrying the stand-in, standin_lib, its API client (kube_client), the
kubeadm CLI spec and the strict config schemas (from tests/reference/kubeadm) and pure-Python PyYAML
(the host has python3 only)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import yaml

from tests import kube_schema
from tests.standins import standin_lib
from tests.standins.built import Built
from tests.standins.kubernetes.cli_reference import kubeadm_spec

HERE = Path(__file__).resolve().parent
KINDS = {
    "kubeadm.k8s.io/v1beta4": [
        "InitConfiguration",
        "ClusterConfiguration",
        "JoinConfiguration",
        "UpgradeConfiguration",
    ],
    "kubelet.config.k8s.io/v1beta1": ["KubeletConfiguration"],
    "kubeproxy.config.k8s.io/v1alpha1": ["KubeProxyConfiguration"],
}


def build_kubeadm(out_path: Path, version: str) -> Built:
    """The stand-in kubeadm of ``version`` (1.35.1: it says v1.35.1 and upgrades to no newer version)."""
    schemas = {f"{v}/{k}": kube_schema.schema_of(v, k) for v, kinds in KINDS.items() for k in kinds}
    yaml_dir = Path(yaml.__file__).parent
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("wb") as raw:
        raw.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in sorted(
                {
                    "__main__.py": (HERE / "kubeadm_main.py").read_text().replace("__VERSION__", version).encode(),
                    "standin_lib.py": Path(standin_lib.__file__).read_bytes(),
                    "kube_client.py": (HERE / "kube_client.py").read_bytes(),
                    "cli.json": json.dumps(kubeadm_spec()).encode(),
                    "schemas.json": json.dumps(schemas).encode(),
                    **{f"yaml/{p.name}": p.read_bytes() for p in sorted(yaml_dir.glob("*.py"))},
                }.items()
            ):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                z.writestr(info, data, zipfile.ZIP_DEFLATED)
    out_path.chmod(0o755)
    return Built.of(out_path)
