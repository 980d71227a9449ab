"""Build the stand-in etcd release tarball (tests only): ``etcd-v<version>-linux-<arch>.tar.gz`` with the
top-level folder ``etcd-v<version>-linux-<arch>/`` holding ``etcd``, ``etcdctl`` and ``etcdutl``, as
etcd-io/etcd's releases ship it; each a zipapp of etcd_main.py with its tool name and version."""

from __future__ import annotations

from pathlib import Path

from tests.standins.built import Built
from tests.standins.kubernetes.node_tools import zipapp
from tests.standins.tarballs import build_tarball

HERE = Path(__file__).resolve().parent
TOOLS = ("etcd", "etcdctl", "etcdutl")


def build_etcd_tool(out_path: Path, tool: str, version: str) -> Built:
    main = (HERE / "etcd_main.py").read_text().replace("__TOOL__", tool).replace("__VERSION__", version.lstrip("v"))
    return zipapp(out_path, main)


def build_etcd_tarball(out_path: Path, work: Path, version: str, arch: str = "amd64") -> Built:
    top = f"etcd-v{version.lstrip('v')}-linux-{arch}"
    files = {tool: (build_etcd_tool(work / "etcd" / tool, tool, version).path.read_bytes(), 0o755) for tool in TOOLS}
    return build_tarball(out_path, top, files)
