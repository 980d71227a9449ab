"""The cluster stand-ins for the air-gap chain (tests only): kubeadm, kubelet, kubectl, crictl, the CNI
plugins and etcd's release tarball (etcdctl, etcdutl), and Calico's real manifest; see
tests/standins/catalogue_standins.py."""

from __future__ import annotations

from pathlib import Path

from dockyard import catalogue
from tests.standins.built import Built
from tests.standins.catalogue_standins import Builder
from tests.standins.kubernetes.build import build_kubeadm
from tests.standins.kubernetes.etcd import build_etcd_tarball
from tests.standins.kubernetes.node_tools import (
    build_cni_tarball,
    build_crictl_tarball,
    build_kubectl,
    build_kubelet,
    calico_manifest,
)


def _kubeadm(art: catalogue.Artefact, work: Path) -> Built:
    return build_kubeadm(work / "kubernetes" / art.id, art.version)


def _kubelet(art: catalogue.Artefact, work: Path) -> Built:
    return build_kubelet(work / "kubernetes" / art.id, art.version)


def _kubectl(art: catalogue.Artefact, work: Path) -> Built:
    return build_kubectl(work / "kubernetes" / art.id, art.version)


def _crictl(art: catalogue.Artefact, work: Path) -> Built:
    return build_crictl_tarball(work / "crictl" / art.file_name, work / "crictl", art.version)


def _cni(art: catalogue.Artefact, work: Path) -> Built:
    return build_cni_tarball(work / "cni" / art.file_name, work / "cni")


def _etcd(art: catalogue.Artefact, work: Path) -> Built:
    return build_etcd_tarball(work / "etcd" / art.file_name, work / "etcd", art.version)


def _calico_manifest(art: catalogue.Artefact, work: Path) -> Built:
    return calico_manifest(work / "calico" / art.file_name)


def builders() -> dict[tuple[str, str], Builder]:
    arch = "amd64"  # the stand-ins are built for this machine's hosts
    return {
        ("kubernetes", f"kubeadm-linux-{arch}"): _kubeadm,
        ("kubernetes", f"kubelet-linux-{arch}"): _kubelet,
        ("kubernetes", f"kubectl-linux-{arch}"): _kubectl,
        ("crictl", f"crictl-linux-{arch}"): _crictl,
        ("cni_plugins", f"cni-plugins-linux-{arch}"): _cni,
        ("etcd", f"etcd-linux-{arch}"): _etcd,
        ("calico", "calico-manifest"): _calico_manifest,
    }
