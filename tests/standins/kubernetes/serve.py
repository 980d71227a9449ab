"""TEST ONLY: build the cluster stand-ins and serve them from the stand-in kit's test upstream, as the
artefact chain would (the catalogue's upstream URLs, each artefact with its own sha256), for lab and
Molecule scenarios. Writes <dir>/overlay.yml (the dockyard_catalogue override) and <dir>/ca.crt (the
CA that signed the upstream's certificate, for the hosts to trust), detaches, records its PID and
serves until SIGTERM.

    python -m tests.standins.kubernetes.serve --dir DIR --bind 172.30.0.1 --pid-file PID
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from dockyard import catalogue, pki
from tests.standins.kubernetes.build import build_kubeadm
from tests.standins.kubernetes.node_tools import (
    build_cni_tarball,
    build_crictl_tarball,
    build_kubelet,
    build_version_only,
)
from tests.standins.upstream import TestUpstream


def publish_all(upstream: TestUpstream, work: Path, arch: str = "amd64") -> None:
    product = catalogue.product()
    kube = product["kubernetes"]
    version = str(kube["version"])

    def url(component: str, artefact: str) -> str:
        return str(product[component]["artefacts"][artefact]["url"])

    built = {
        "kubeadm": build_kubeadm(work / "kubeadm"),
        "kubelet": build_kubelet(work / "kubelet", version),
        "kubectl": build_version_only(work / "kubectl", "kubectl", version),
    }
    for tool, b in built.items():
        upstream.publish("kubernetes", f"{tool}-linux-{arch}", url("kubernetes", f"{tool}-linux-{arch}"), b)
    crictl = f"crictl-linux-{arch}"
    upstream.publish(
        "crictl",
        crictl,
        url("crictl", crictl),
        build_crictl_tarball(work / "crictl.tgz", work, str(product["crictl"]["version"])),
    )
    cni = f"cni-plugins-linux-{arch}"
    upstream.publish("cni_plugins", cni, url("cni_plugins", cni), build_cni_tarball(work / "cni.tgz", work))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="serve the cluster stand-ins (tests only)")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--bind", required=True, help="the host side of the test's own Docker network")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--pid-file", type=Path, required=True)
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    ca, _ = pki.load_or_create_ca(args.dir / "ca", "Dockyard test upstream CA")
    pki.ensure_cert(ca, pki.CertRequest("upstream", ("test-upstream.invalid",), (args.bind,)))
    certs = args.dir / "ca" / "certs"
    upstream = TestUpstream(
        args.dir / "files", certs / "upstream.crt", certs / "upstream.key", bind=(args.bind, args.port)
    )
    publish_all(upstream, args.dir / "build")
    (args.dir / "overlay.yml").write_text(yaml.safe_dump({"dockyard_catalogue": upstream.overlay()}))
    (args.dir / "ca.crt").write_bytes(ca.cert_pem)
    upstream.serve_detached(args.pid_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
