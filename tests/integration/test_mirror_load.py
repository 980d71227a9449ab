"""`invoke bundle.load` against a REAL mirror host: a systemd Debian 12 container (dy09-mirror-1)
converged with `invoke bootstrap --tags common,internal_ca,mirror` (Debian's nginx, docker-registry,
reprepro, skopeo), reached over SSH as the inventory says, loaded from bundles that `invoke
bundle.build` made from the air-gap test upstream (tests/standins/airgap_upstream.py; no internet).

The images keep their upstream names: the test upstream's registry holds them under
``<upstream registry>/<path>`` and a registries.conf(5) maps each upstream registry there, so the
bundle, and the mirror after it, see ``registry.k8s.io/pause`` as production does. Any request that
would still leave this machine goes to a closed local port (HTTPS_PROXY), never out.

One module-scoped mirror, the steps in order (each test builds on the one before):
a delta refused before its base is loaded -> a base load killed half-way -> rerun completes ->
a second load transfers nothing (timed) -> the delta loads -> what the mirror serves, checked from
the mirror host itself with TLS verified against the internal CA only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard import catalogue
from dockyard import secrets as vault
from dockyard.bundle import manifest as m
from dockyard.gitops import argocd_values
from dockyard.inventory import InventoryTree
from dockyard.localhosts import hosts as local
from dockyard.localhosts.engine import DOCKER
from dockyard.mirror import charts
from dockyard.mirror.credentials import APT_SIGNING_KEY
from tests.cli_runner import INVOKE, ROOT, invoke
from tests.gitops_helpers import HELM
from tests.standins import airgap_upstream as au

pytestmark = [
    pytest.mark.hosts,
    pytest.mark.skipif(
        not (shutil.which("skopeo") and Path(au.REGISTRY_BINARY).exists()), reason="needs skopeo and docker-registry"
    ),
]

ENV = "dy09"
DOMAIN = "dockyard.test"
MIRROR = f"mirror.{DOMAIN}"
# The base bundle: a vendor package, a chart, a file, an image. The delta adds traefik (chart + image).
BASE_ONLY = "jenkins,argocd_chart,helm,pause_image"
DELTA_ONLY = f"{BASE_ONLY},traefik"
SUMMARY = re.compile(
    r"bundle load OK: (?P<verdict>[^:]+): files (?P<files>\d+), packages (?P<packages>\d+), "
    r"images (?P<images>\d+), (?P<sent>\S+ \S+) sent, (?P<skipped>\d+) skipped \(same digest\), (?P<secs>[\d.]+)s"
)


@dataclass(frozen=True)
class MirrorLab(local.Lab):
    """The one mirror host of this module: container and network names start with dy09-."""

    @property
    def prefix(self) -> str:
        return "dy09-mirror-"

    @property
    def network(self) -> str:
        return "dy09-net"

    @property
    def label(self) -> str:
        return "dev.dockyard.dy09=mirror"


@dataclass
class Site:
    tree: Path
    state: Path
    host: str
    address: str
    env: dict[str, str]
    catalogue: dict[str, Any]
    bundles: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
        return invoke(*args, "--inventories", str(self.tree), timeout=timeout, env=self.env)

    def load(self, name: str) -> subprocess.CompletedProcess[str]:
        return self.run("bundle.load", str(self.bundles[name]), "--env", ENV)

    def on_mirror(self, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [DOCKER, "exec", self.host, "sh", "-c", script], capture_output=True, text=True, check=False
        )
        if check:
            assert proc.returncode == 0, f"{script}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        return proc

    def manifest(self, name: str) -> m.Manifest:
        return m.read(self.bundles[name])


def _overlay(pub: au.Published, tmp: Path) -> tuple[dict[str, Any], Path]:
    """The session's overlay with upstream image names, and a registries.conf sending each upstream
    registry to the test registry (which holds the images under ``<registry>/<path>``)."""
    overlay = json.loads(json.dumps(pub.overlay))
    product = catalogue.product()
    registries: set[str] = set()
    for component, art_id in pub.digests:
        upstream_ref = str(product[component]["artefacts"][art_id]["ref"])
        overlay[component]["artefacts"][art_id]["ref"] = upstream_ref
        registries.add(upstream_ref.split("/", 1)[0])
    conf = tmp / "registries.conf"
    conf.write_text(
        "".join(
            f'[[registry]]\nprefix = "{r}"\nlocation = "{pub.registry.address}/{r}"\ninsecure = true\n\n'
            for r in sorted(registries)
        )
    )
    return overlay, conf


def _write_inventory(tree: Path, host: local.LocalHost, known_hosts: Path, key: Path, extra: dict[str, Any]) -> None:
    env = tree / ENV
    group_vars = env / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    connection = {
        "ansible_host": host.address,
        "ansible_user": "root",
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes",
    }
    groups = ("gitlab", "harbor", "jenkins", "mirror", "kube_control_plane")
    (env / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {g: {"hosts": {host.name: dict(connection)}} for g in groups}}})
    )
    for name in ("dockyard.yml", "preflight.yml"):
        shutil.copy(ROOT / "inventories" / "platform" / "group_vars" / "all" / name, group_vars)
    small = {"cpus": 1, "memory_mb": 512, "disk_gb": 5}
    (group_vars / f"zz-{ENV}.yml").write_text(
        yaml.safe_dump(
            {
                "dockyard_env": ENV,
                "dockyard_environments": {ENV: {"sync": "auto"}},
                "dockyard_domain": DOMAIN,
                "dockyard_dns": False,
                "dockyard_preflight_minimums": {g: small for g in (*groups, "kube_node")},
                **extra,
            }
        )
    )


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest, docker_engine: Path, test_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    # The Harbor stand-in among the session's artefacts builds its images on the lab's base image.
    os.environ.setdefault("DOCKYARD_TEST_IMAGE", test_image)
    airgap_upstreams: au.Published = request.getfixturevalue("airgap_upstreams")
    tmp = tmp_path_factory.mktemp("dy09-mirror")
    lab = MirrorLab("dy09", tmp / "unused")
    name = f"{lab.prefix}1"
    key = tmp / "ssh" / "id_ed25519"
    local._ensure_key(key)
    local._ensure_network(lab, lambda _line: None)
    local._ensure_container(lab, name, test_image, key.with_suffix(".pub"), lambda _line: None)
    try:
        [host] = local._wait_for_ssh(lab, [name])
        known_hosts = tmp / "ssh" / "known_hosts"
        local._write_known_hosts([host], known_hosts)
        overlay, registries_conf = _overlay(airgap_upstreams, tmp)
        builder_key = tmp / "builder.key"
        made = invoke("bundle.keygen", "--key", str(builder_key))
        assert made.returncode == 0, made.stderr
        password = tmp / "vault-password"
        password.write_text(hashlib.sha256(os.urandom(32)).hexdigest() + "\n")
        password.chmod(0o600)
        tree = tmp / "inventories"
        _write_inventory(
            tree,
            host,
            known_hosts,
            key,
            {
                "dockyard_state_dir": str(tmp / "state"),
                "dockyard_bundle_public_key": builder_key.with_name("builder.key.pub").read_text().strip(),
                "dockyard_catalogue": overlay,
            },
        )
        env = {
            vault.PASSWORD_ENV: str(password),
            "CONTAINERS_REGISTRIES_CONF": str(registries_conf),
            "REQUESTS_CA_BUNDLE": str(airgap_upstreams.ca_bundle),
            # Nothing may leave this machine: whatever is not for 127.0.0.1 meets a closed port.
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
        s = Site(tree, tmp / "state", name, host.address, env, catalogue.merged(overlay))
        started = time.monotonic()
        boot = s.run("bootstrap", "--env", ENV, "--tags", "common,internal_ca,mirror", "--allow-partial", timeout=1200)
        s.timings["bootstrap common,internal_ca,mirror"] = time.monotonic() - started
        assert boot.returncode == 0, (boot.stdout + boot.stderr)[-8000:]
        for bundle, args in (
            ("base", ("--only", BASE_ONLY)),
            ("delta", ("--only", DELTA_ONLY, "--since", str(tmp / "base" / m.MANIFEST))),
        ):
            started = time.monotonic()
            out = tmp / bundle
            built = s.run("bundle.build", "--out", str(out), "--env", ENV, "--key", str(builder_key), *args)
            s.timings[f"bundle.build {bundle}"] = time.monotonic() - started
            assert built.returncode == 0, (built.stdout + built.stderr)[-6000:]
            s.bundles[bundle] = out
        yield s
        print("\ndy09 mirror load timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in s.timings.items()))
    finally:
        subprocess.run([DOCKER, "rm", "-f", name], capture_output=True, check=False)
        subprocess.run([DOCKER, "network", "rm", lab.network], capture_output=True, check=False)


def _summary(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    found = SUMMARY.search(proc.stdout)
    assert found, proc.stdout[-3000:]
    return found.groupdict()


def test_a_delta_is_refused_while_its_base_is_not_loaded(site: Site) -> None:
    base_digest = m.sha256_hex(m.read_bytes(site.bundles["base"]))
    assert site.manifest("delta").base_manifest_sha256 == base_digest
    proc = site.load("delta")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"base manifest sha256 {base_digest}" in proc.stderr and "load that base bundle first" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Nothing was sent: no file of the delta is on the mirror.
    listing = site.on_mirror("find /srv/dockyard-mirror/files -type f | wc -l").stdout.strip()
    assert listing == "0", listing


def test_a_load_killed_half_way_then_rerun_completes(site: Site) -> None:
    cmd = [INVOKE, "-r", str(ROOT), "bundle.load", str(site.bundles["base"]), "--env", ENV]
    env = {**{k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}, **site.env}
    proc = subprocess.Popen(
        [*cmd, "--inventories", str(site.tree)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    seen: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if "images: staging" in line:  # files and packages are recorded; the images are not pushed yet
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    record = json.loads(site.on_mirror("cat /var/lib/dockyard-mirror/loaded.json").stdout)
    assert record["files"] and not record["images"] and not record["manifests"], record

    started = time.monotonic()
    again = site.load("base")
    site.timings["bundle.load base (resumed)"] = time.monotonic() - started
    summary = _summary(again)
    manifest = site.manifest("base")
    assert summary["verdict"] == "loaded"
    assert int(summary["files"]) == 0 and int(summary["packages"]) == 0, again.stdout  # done before the kill
    assert int(summary["images"]) == len(manifest.images) > 0
    assert "files: " in again.stdout and "already on the mirror" in again.stdout


def test_a_second_load_transfers_nothing_and_says_so(site: Site) -> None:
    started = time.monotonic()
    proc = site.load("base")
    seconds = time.monotonic() - started
    site.timings["bundle.load base (second, nothing to do)"] = seconds
    summary = _summary(proc)
    manifest = site.manifest("base")
    assert summary["verdict"] == "nothing transferred, the mirror already holds this bundle"
    assert (summary["files"], summary["packages"], summary["images"]) == ("0", "0", "0")
    assert summary["sent"] == "0 B", proc.stdout
    debs = [f for f in manifest.files if f.kind == "deb"]
    assert int(summary["skipped"]) == len(manifest.files) + len(debs) + len(manifest.images)
    assert seconds < 60, f"a second load took {seconds:.1f}s"


def test_the_delta_loads_on_top_of_its_base(site: Site) -> None:
    delta = site.manifest("delta")
    assert {f.component for f in delta.files} | {i.component for i in delta.images} == {"traefik"}
    summary = _summary(site.load("delta"))
    assert summary["verdict"] == "loaded"
    assert int(summary["files"]) == len(delta.files) and int(summary["images"]) == len(delta.images) > 0
    record = json.loads(site.on_mirror("cat /var/lib/dockyard-mirror/loaded.json").stdout)
    for name in ("base", "delta"):
        assert m.sha256_hex(m.read_bytes(site.bundles[name])) in record["manifests"]


def test_files_are_served_over_tls_under_the_upstream_host_and_path(site: Site) -> None:
    files = [f for name in ("base", "delta") for f in site.manifest(name).files if f.kind in ("file", "chart")]
    assert files
    for f in files:
        assert f.path.startswith("files/") and f.source, f
        url = catalogue.mirror_file_url(f.source, MIRROR)
        # Python's default context on the mirror host: the system trust store, which holds the internal CA.
        fetch = f"import hashlib, urllib.request as u; print(hashlib.sha256(u.urlopen('{url}').read()).hexdigest())"
        got = site.on_mirror(f'python3 -c "{fetch}"').stdout.strip()
        assert got == f.sha256, url


def test_packages_install_from_the_signed_apt_repository(site: Site) -> None:
    [deb] = [f for f in site.manifest("base").files if f.kind == "deb"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv(vault.PASSWORD_ENV, site.env[vault.PASSWORD_ENV])
        key = vault.Vault.open(InventoryTree(site.tree), ENV, site.state).require(APT_SIGNING_KEY, "bootstrap made it")
    public = key[key.index("-----BEGIN PGP PUBLIC KEY BLOCK-----") :]
    site.on_mirror(f"mkdir -p /etc/apt/keyrings && cat > /etc/apt/keyrings/dy09-vendor.asc <<'EOF'\n{public}EOF")
    site.on_mirror(
        "printf 'Types: deb\\nURIs: https://%s/apt\\nSuites: %s\\nComponents: main\\nSigned-By: %s\\n' "
        f"{MIRROR} {deb.os_release} /etc/apt/keyrings/dy09-vendor.asc > /etc/apt/sources.list.d/dy09-vendor.sources"
    )
    site.on_mirror("apt-get update -q")
    install = f"apt-get install -y -q --no-install-recommends {deb.package}={deb.version}"
    site.on_mirror(f"DEBIAN_FRONTEND=noninteractive {install}")
    policy = site.on_mirror(f"apt-cache policy {deb.package}").stdout
    assert f"https://{MIRROR}/apt {deb.os_release}/main" in policy, policy
    # The same source signed-by another key is refused: the source trusts only the repository key.
    site.on_mirror(
        "mkdir -m 0700 -p /tmp/dy09-other && "
        "gpg --batch --quiet --homedir /tmp/dy09-other --pinentry-mode loopback --passphrase '' "
        "--quick-gen-key other@dy09.invalid ed25519 sign never && "
        "gpg --batch --homedir /tmp/dy09-other --armor --export > /etc/apt/keyrings/dy09-other.asc && "
        "sed -i 's/dy09-vendor.asc/dy09-other.asc/' /etc/apt/sources.list.d/dy09-vendor.sources"
    )
    refused = site.on_mirror("apt-get update -q 2>&1", check=False).stdout
    site.on_mirror("rm /etc/apt/sources.list.d/dy09-vendor.sources")
    assert "NO_PUBKEY" in refused or "is not signed" in refused, refused[-2000:]


def test_images_pull_by_digest_with_tls_verified(site: Site) -> None:
    registry = f"{MIRROR}:5000"
    images = [i for name in ("base", "delta") for i in site.manifest(name).images]
    assert images
    for image in images:
        name = catalogue.mirror_image_ref(image.source, registry).rpartition(":")[0]
        raw = site.on_mirror(f"skopeo inspect --raw docker://{name}@{image.digest}").stdout
        assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == image.digest, name


def test_the_argocd_phase_gets_its_chart_from_this_mirror(site: Site, tmp_path: Path) -> None:
    """What the argocd phase does air-gapped (dockyard.mirror.charts), against the chart bundle.load
    put on this mirror: fetched over TLS checked against the internal CA (the mirror's certificate
    carries its address), sha256 checked, and helm reads the local copy."""
    art = catalogue.artefact(site.catalogue, argocd_values.CHART_COMPONENT, argocd_values.CHART_ARTEFACT)
    source = catalogue.Source(airgap=True, mirror_fqdn=site.address, mirror_registry=f"{site.address}:5000")
    served = "grep -c 'GET /files/.*/argo-cd-[^ ]*[.]tgz HTTP/[0-9.]*\" 200' /var/log/nginx/access.log || true"
    before = int(site.on_mirror(served).stdout.strip() or 0)
    got = charts.helm_source(art, source, state_dir=tmp_path, ca_file=site.state / "pki" / "ca.crt")
    assert Path(got).parent == tmp_path / "charts" and hashlib.sha256(Path(got).read_bytes()).hexdigest() == art.sha256
    shown = subprocess.run([HELM, "show", "chart", got], capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert yaml.safe_load(shown.stdout)["version"] == art.version
    assert int(site.on_mirror(served).stdout.strip() or 0) == before + 1, "the mirror's nginx did not serve it"
