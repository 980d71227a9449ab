"""The local lab's vendor artefacts: STAND-INS carried the production way (tests only, never shipped).

The local lab is an air-gapped site (``dockyard_airgap: true``) with no internet, and this machine
has no GitLab, Harbor, Jenkins or kubeadm to give it. So, as DESIGN.md's "stand-ins" section says:

1. every artefact of the catalogue is built here: the tools' own stand-ins
   (tests/standins/catalogue_standins.py), the real binaries this machine has in the upstream
   layout (containerd, runc, helm, the argo-cd and Traefik charts), a placeholder for the rest, and a one-layer
   image for every image;
2. the FAKE INTERNET (tests/standins/fake_internet.py) serves them on loopback under the
   catalogue's own upstream URLs and image names;
3. ``inventories/local/group_vars/all/zz-standins.yml`` gets the catalogue override: only the
   stand-ins' own sha256s and digests (plus the lab's version pins, :data:`LAB_PINS`), and the
   lab's bundle public key;
4. ``invoke bundle.build --env local`` runs unmodified through that proxy into the lab's bundle
   folder, which the bootstrap then verifies and loads into the lab's mirror.

    python -m tests.standins.lab_feed --root CHECKOUT --base-image TAG --bundle DIR

Idempotent: artefacts are rebuilt only when their sources change, and bundle.build downloads only
what is missing, so a rerun prints ``nothing downloaded`` and leaves the manifest unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from dockyard import catalogue
from tests.standins import catalogue_standins, fake_internet
from tests.standins.airgap_upstream import bundled_artefacts, oci_image_layout, real_or_standin
from tests.standins.built import Built

INVOKE = str(Path(sys.executable).parent / "invoke")
STANDINS_FILE = "zz-standins.yml"  # sorts after zz-local.yml
# The lab's own version pins, over the product catalogue: Jenkins on the LTS line that runs on
# Debian 12's Java 17 (the catalogue's 2.568.3 needs Java 21; the role refuses it on these hosts).
JENKINS_LAB_VERSION = "2.541.3"
# containerd: the "release" here is Debian's containerd binaries in upstream's static layout
# (tests/standins/airgap_upstream.py), so the pin is their version, which picks config.toml v2.
CONTAINERD_LAB_VERSION = "1.6.20"
_CONTAINERD = f"https://github.com/containerd/containerd/releases/download/v{CONTAINERD_LAB_VERSION}"
LAB_PINS: dict[str, Any] = {
    "containerd": {
        "version": CONTAINERD_LAB_VERSION,
        "artefacts": {
            "containerd-static-linux-amd64": {
                "url": f"{_CONTAINERD}/containerd-static-{CONTAINERD_LAB_VERSION}-linux-amd64.tar.gz"
            },
            "containerd-linux-amd64": {"url": f"{_CONTAINERD}/containerd-{CONTAINERD_LAB_VERSION}-linux-amd64.tar.gz"},
        },
    },
    "jenkins": {
        "version": JENKINS_LAB_VERSION,
        "artefacts": {
            "jenkins-deb": {"url": f"https://get.jenkins.io/debian-stable/jenkins_{JENKINS_LAB_VERSION}_all.deb"},
            "jenkins-war": {"url": f"https://get.jenkins.io/war-stable/{JENKINS_LAB_VERSION}/jenkins.war"},
        },
    },
}
# Inputs whose change rebuilds the artefacts.
SOURCES = ("tests/standins", "tests/fakes", "tests/reference/argo-cd-chart", "tests/reference/ingress",
           "roles/tools/gitlab/files", "roles/tools/gitlab/tasks", "src/dockyard/data/catalogue.yml")  # fmt: skip


def _say(text: str) -> None:
    print(f"lab feed: {text}", flush=True)


def _merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Catalogue override layers combined into one, as the catalogue merges an override."""
    result: dict[str, Any] = {}
    for layer in layers:
        catalogue.merge_over(result, layer)
    return result


def _stamp(root: Path, base_image: str) -> str:
    digest = hashlib.sha256(f"{base_image}\0{yaml.safe_dump(LAB_PINS)}".encode())
    for source in SOURCES:
        path = root / source
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file() and "__pycache__" not in f.parts:
                digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def _push(layout_dir: Path, ref: str, env: dict[str, str]) -> str:
    """Push an OCI layout under its upstream name, through the fake internet; its digest."""
    name = ref.split("@", 1)[0]
    run = {**os.environ, **env}
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{layout_dir}:latest", f"docker://{name}"],
                   check=True, capture_output=True, env=run)  # fmt: skip
    raw = subprocess.run(["skopeo", "inspect", "--raw", f"docker://{name}"],
                         check=True, capture_output=True, env=run).stdout  # fmt: skip
    return hashlib.sha256(raw).hexdigest()


def feed(root: Path, base_image: str, bundle: Path) -> int:
    state = root / ".dockyard" / "lab"
    layout = fake_internet.Layout(state / "internet")
    inventory = root / "inventories" / "local"
    platform_file = root / "inventories" / "platform" / "group_vars" / "all" / "versions.yml"
    site = (yaml.safe_load(platform_file.read_text()) or {}).get("dockyard_catalogue") or {}
    cat = catalogue.merged(_merge(site, LAB_PINS))
    arts = bundled_artefacts(cat)
    files_hosts = sorted({fake_internet.file_host(a.url) for a in arts if a.kind != "image" and a.url})
    registry_hosts = sorted({fake_internet.registry_host(a.ref) for a in arts if a.kind == "image" and a.ref})
    stamp = _stamp(root, base_image)
    stamp_file = state / "standins.stamp"
    standins_file = inventory / "group_vars" / "all" / STANDINS_FILE
    fresh = stamp_file.exists() and stamp_file.read_text() == stamp and standins_file.exists()
    os.environ["DOCKYARD_TEST_IMAGE"] = base_image  # the Harbor stand-in's images are built from it
    fake_internet.start_detached(layout, files_hosts, registry_hosts)
    env = layout.client_env()
    if fresh:
        _say(
            f"stand-ins unchanged ({len(arts)} artefacts); the fake internet serves them again on {env['HTTPS_PROXY']}"
        )
    else:
        _say(f"building {len(arts)} stand-in artefacts (tests/standins) for the catalogue's upstream names")
        work = state / "build"
        builders = catalogue_standins.registry()
        overlay: dict[str, Any] = {}
        for art in arts:
            entry = overlay.setdefault(art.component, {}).setdefault("artefacts", {})
            if art.kind == "image":
                assert art.ref
                own = builders.get((art.component, art.id))  # an image stand-in of its own (an OCI layout)
                oci = (
                    own(art, work / "standins").path
                    if own
                    else oci_image_layout(work / "images" / f"{art.component}-{art.id}", f"{art.component}/{art.id}")
                )
                digest = _push(oci, art.ref, env)
                entry[art.id] = {"sha256": digest, "sha256_source": "STAND-IN image (tests/standins/lab_feed.py)"}
                continue
            assert art.url
            built: Built = real_or_standin(work / "artefacts", art)
            target = layout.files / fake_internet.file_host(art.url) / urlsplit(art.url).path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != built.path.read_bytes():
                target.write_bytes(built.path.read_bytes())
            entry[art.id] = {"sha256": built.sha256, "sha256_source": "STAND-IN built by tests/standins (lab feed)"}
        key = root / ".dockyard" / "bundle-signing.key"
        if not key.exists():
            subprocess.run([INVOKE, "bundle.keygen"], cwd=root, check=True,
                           capture_output=True)  # fmt: skip
        public = key.with_name(key.name + ".pub").read_text().strip()
        doc = {
            "dockyard_catalogue": _merge(site, LAB_PINS, overlay),
            "dockyard_bundle_public_key": public,
        }
        standins_file.parent.mkdir(parents=True, exist_ok=True)
        standins_file.write_text(
            "---\n# Written by the lab feed (tests/standins/lab_feed.py): the local lab's vendor artefacts are\n"
            "# STAND-INS served by a fake internet on this machine. Only their own sha256s and digests, and the\n"
            "# lab's version pins, are overridden here: every URL and image name stays upstream's.\n"
            + yaml.safe_dump(doc, sort_keys=True)
        )
        stamp_file.write_text(stamp)
    _say(f"bundle.build --env local --out {bundle} through the fake internet")
    proc = subprocess.run([INVOKE, "bundle.build", "--env", "local", "--out", str(bundle)],
                          cwd=root, env={**os.environ, **env}, check=False)  # fmt: skip
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests.standins.lab_feed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--base-image", required=True)
    parser.add_argument("--bundle", type=Path, required=True)
    args = parser.parse_args(argv)
    return feed(args.root.resolve(), args.base_image, args.bundle.resolve())


if __name__ == "__main__":
    raise SystemExit(main())
