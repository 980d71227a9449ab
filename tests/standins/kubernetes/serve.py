"""TEST ONLY: build the cluster stand-ins and serve them from the stand-in kit's test upstream, as the
artefact chain would (the catalogue's upstream URLs, each artefact with its own sha256), for lab and
Molecule scenarios, with Calico's real manifest (tests/reference/calico) and the real traefik and
argo-cd charts (tests/reference) at their catalogue URLs.
Writes <dir>/overlay.yml (the dockyard_catalogue override) and <dir>/ca.crt (the CA that signed the
upstream's certificate, for the hosts to trust), detaches, records its PID and serves until SIGTERM.
With ``--upgrade-to 1.36.0`` (repeatable) it also builds kubeadm, kubelet and kubectl of that version,
serves them at the catalogue's URLs with the version replaced, and writes
<dir>/overlay-1.36.0.yml: overlay.yml with ``kubernetes`` at that version and those three artefacts.

    python -m tests.standins.kubernetes.serve --dir DIR --bind 172.30.0.1 --pid-file PID [--upgrade-to 1.36.0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from dockyard import catalogue, pki
from tests.standins import detached
from tests.standins.airgap_upstream import VENDORED_CHARTS, vendored_chart
from tests.standins.kubernetes.build import build_kubeadm
from tests.standins.kubernetes.etcd import build_etcd_tarball
from tests.standins.kubernetes.node_tools import (
    build_cni_tarball,
    build_crictl_tarball,
    build_kubectl,
    build_kubelet,
    calico_manifest,
)
from tests.standins.upstream import Published, TestUpstream

KUBE_TOOLS = ("kubeadm", "kubelet", "kubectl")


def publish_kubernetes(upstream: TestUpstream, work: Path, version: str, arch: str = "amd64") -> list[Published]:
    """kubeadm, kubelet and kubectl of ``version`` at the catalogue's URLs with the version in them
    replaced by ``version`` (dl.k8s.io/release/v<version>/bin/linux/<arch>/<tool>)."""
    kube = catalogue.product()["kubernetes"]
    current = str(kube["version"])
    out = work if version == current else work / version
    built = {
        "kubeadm": build_kubeadm(out / "kubeadm", version),
        "kubelet": build_kubelet(out / "kubelet", version),
        "kubectl": build_kubectl(out / "kubectl", version),
    }
    published = []
    for tool, b in built.items():
        artefact = f"{tool}-linux-{arch}"
        url = str(kube["artefacts"][artefact]["url"]).replace(f"/v{current}/", f"/v{version}/")
        published.append(upstream.publish("kubernetes", artefact, url, b))
    return published


def publish_all(upstream: TestUpstream, work: Path, arch: str = "amd64") -> None:
    product = catalogue.product()

    def url(component: str, artefact: str) -> str:
        return str(product[component]["artefacts"][artefact]["url"])

    publish_kubernetes(upstream, work, str(product["kubernetes"]["version"]), arch)
    etcd = f"etcd-linux-{arch}"
    if etcd in (product.get("etcd") or {}).get("artefacts", {}):  # until the catalogue has etcd, none
        upstream.publish(
            "etcd",
            etcd,
            url("etcd", etcd),
            build_etcd_tarball(
                work / f"etcd-v{product['etcd']['version']}-linux-{arch}.tar.gz",
                work,
                str(product["etcd"]["version"]),
                arch,
            ),
        )
    crictl = f"crictl-linux-{arch}"
    upstream.publish(
        "crictl",
        crictl,
        url("crictl", crictl),
        build_crictl_tarball(work / "crictl.tgz", work, str(product["crictl"]["version"])),
    )
    upstream.publish(
        "calico", "calico-manifest", url("calico", "calico-manifest"), calico_manifest(work / "calico.yaml")
    )
    cni = f"cni-plugins-linux-{arch}"
    upstream.publish("cni_plugins", cni, url("cni_plugins", cni), build_cni_tarball(work / "cni.tgz", work))
    for component, chart in VENDORED_CHARTS:
        built = vendored_chart(work / "charts", component, chart, str(product[component]["version"]))
        upstream.publish(component, chart, url(component, chart), built)


def write_upgrade_overlay(
    upstream: TestUpstream, folder: Path, base: list[Published], newer: list[Published], version: str
) -> Path:
    """<folder>/overlay-<version>.yml: overlay.yml's override with kubernetes at ``version`` and its
    kubeadm, kubelet and kubectl from ``newer`` (everything else as in overlay.yml)."""
    replaced = {(p.component, p.artefact) for p in newer}
    overlay = upstream.overlay([p for p in base if (p.component, p.artefact) not in replaced] + newer)
    overlay["kubernetes"]["version"] = version
    path = folder / f"overlay-{version}.yml"
    path.write_text(yaml.safe_dump({"dockyard_catalogue": overlay}))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="serve the cluster stand-ins (tests only)")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--bind", required=True, help="the host side of the test's own Docker network")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--pid-file", type=Path, required=True)
    parser.add_argument(
        "--upgrade-to", action="append", default=[], help="also serve kubeadm/kubelet/kubectl of this version"
    )
    args = parser.parse_args(argv)
    detached.stop(args.pid_file)  # one an earlier run left behind gives its address up first
    args.dir.mkdir(parents=True, exist_ok=True)
    ca, _ = pki.load_or_create_ca(args.dir / "ca", "Dockyard test upstream CA")
    pki.ensure_cert(ca, pki.CertRequest("upstream", ("test-upstream.invalid",), (args.bind,)))
    certs = args.dir / "ca" / "certs"
    upstream = TestUpstream(
        args.dir / "files", certs / "upstream.crt", certs / "upstream.key", bind=(args.bind, args.port)
    )
    publish_all(upstream, args.dir / "build")
    base = list(upstream.published)
    (args.dir / "overlay.yml").write_text(yaml.safe_dump({"dockyard_catalogue": upstream.overlay(base)}))
    for version in args.upgrade_to:
        write_upgrade_overlay(
            upstream, args.dir, base, publish_kubernetes(upstream, args.dir / "build", version), version
        )
    (args.dir / "ca.crt").write_bytes(ca.cert_pem)
    upstream.serve_detached(args.pid_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
