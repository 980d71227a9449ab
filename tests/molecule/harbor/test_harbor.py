"""The harbor scenario, driven from here because it needs what Molecule cannot make: the stand-in
installers (tests/standins/harbor) of two versions, served by the test upstream on the scenario
network's gateway with a certificate from the internal CA the host trusts, reached through the
catalogue overlay (the artefact chain). Then, in order: install N-1 (`molecule converge`,
`idempotence`, `verify`: health, reboot survival, backup), `invoke seed` against it across the lab
network over real TLS (rerun all noop), a refused jump of more than two minors (nothing changed),
`invoke plan`'s upgrade steps (check mode), and the upgrade N-1 -> N (backup first, the new
installer unpacked, the migrator, install.sh, health, schema not dirty) together with an admin
password rotation through the API, its idempotence, seed again (all noop).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from tests.molecule.runner import molecule_steps
from tests.standins.harbor import trivy_db
from tests.standins.harbor.build import build_installer
from tests.standins.upstream import TestUpstream

from dockyard import catalogue, pki, secret_registry
from dockyard.secrets import Vault

ROOT = Path(__file__).resolve().parents[3]
NETWORK = "dy12-mol-harbor"
HOST = "dy12-mol-harbor"
SUBNET, GATEWAY, ADDRESS = "172.30.112.0/24", "172.30.112.1", "172.30.112.10"
NAME = "harbor.molecule.test"
ART = "harbor-offline-installer"
CA_PASSPHRASE = "molecule-only-ca-key-passphrase"
VAULT_PASSWORD = b"molecule-harbor-test-vault-password-not-a-secret"
CACHE = ROOT / ".cache" / "standins" / "harbor"
PIN = catalogue.artefact(catalogue.product(), "harbor", ART).version  # N: the catalogue's pin
PREVIOUS = "v2.14.3"  # N-1
JUMP = "v2.17.0"  # three minors past N-1: refused before anything changes (never built)

pytestmark = pytest.mark.hosts


def _docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout.strip()


@dataclass
class TrivyRegistry:
    """Debian's docker-registry on the gateway over TLS from the internal CA, holding the stand-in
    Trivy database artefact as the mirror's registry would (the role copies it with skopeo)."""

    proc: subprocess.Popen[bytes]
    ref: str  # <gateway:port>/ghcr.io/aquasecurity/trivy-db:2
    digest: str

    @classmethod
    def start(cls, work: Path, cert: Path, key: Path, ca: Path) -> TrivyRegistry:
        with socket.socket() as s:
            s.bind((GATEWAY, 0))
            port = int(s.getsockname()[1])
        work.mkdir(parents=True, exist_ok=True)
        (work / "config.yml").write_text(
            "version: 0.1\nlog: {level: error}\n"
            f"storage: {{filesystem: {{rootdirectory: {work / 'data'}}}}}\n"
            f"http: {{addr: '{GATEWAY}:{port}', tls: {{certificate: {cert}, key: {key}}}}}\n"
        )
        proc = subprocess.Popen(
            ["docker-registry", "serve", str(work / "config.yml")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection((GATEWAY, port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        certs = work / "certs.d"
        certs.mkdir(exist_ok=True)
        shutil.copy(ca, certs / "ca.crt")
        ref = f"{GATEWAY}:{port}/ghcr.io/aquasecurity/trivy-db:2"
        layout = work / "layout"
        trivy_db.oci_layout(layout)
        subprocess.run(
            ["skopeo", "copy", "--quiet", "--dest-cert-dir", str(certs), f"oci:{layout}:2", f"docker://{ref}"],
            check=True, capture_output=True,
        )  # fmt: skip
        raw = subprocess.run(
            ["skopeo", "inspect", "--raw", "--cert-dir", str(certs), f"docker://{ref}"], check=True, capture_output=True
        ).stdout
        return cls(proc, ref, hashlib.sha256(raw).hexdigest())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class Lab:
    root: Path  # a repository root of the test's own: .dockyard (state), inventories/ (vault)
    state: Path
    vault_file: Path
    upstream: TestUpstream
    overlay_file: Path
    env: dict[str, str]
    base_image: str
    trivy: TrivyRegistry

    def molecule(self, *steps: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        return molecule_steps("harbor", steps, self.env, extra)

    def publish(self, version: str) -> str:
        url = (catalogue.artefact(catalogue.product(), "harbor", ART).url or "").replace(PIN, version)
        self.upstream.publish("harbor", ART, url, build_installer(version, self.base_image, CACHE))
        return url

    def overlay(self, version: str) -> None:
        """Point the catalogue at the published stand-in of ``version``; it becomes the pin."""
        url = (catalogue.artefact(catalogue.product(), "harbor", ART).url or "").replace(PIN, version)
        mine = [p for p in self.upstream.published if p.upstream_url == url]
        over = self.upstream.overlay(mine) if mine else {"harbor": {"artefacts": {ART: {"url": url}}}}
        over["harbor"]["version"] = version
        over["harbor"]["artefacts"]["trivy-db"] = {
            "ref": self.trivy.ref,
            "sha256": self.trivy.digest,
            "sha256_source": "stand-in Trivy database built by the tests (tests/standins/harbor/trivy_db.py)",
        }
        self.overlay_file.write_text(yaml.safe_dump({"dockyard_catalogue": over}))

    def host(self, *cmd: str) -> str:
        return _docker("exec", HOST, *cmd)

    def calls(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.host("cat", "/var/log/dockyard-standin/calls.jsonl").splitlines()]


@pytest.fixture(scope="module")
def lab(test_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("harbor-lab")
    _docker("network", "rm", NETWORK, check=False)
    _docker("network", "create", "--subnet", SUBNET, "--gateway", GATEWAY, NETWORK)
    root = tmp / "root"
    state = root / ".dockyard"
    (state / "pki").mkdir(parents=True)
    password = state / "vault-password"
    password.write_bytes(VAULT_PASSWORD + b"\n")
    password.chmod(0o600)
    vault_file = root / "inventories" / "platform" / "group_vars" / "all" / "vault.yml"
    vault = Vault(vault_file, VAULT_PASSWORD)
    secret_registry.ensure(vault)  # what `invoke bootstrap` generates before Ansible runs
    vault.set_many({"pki.ca-key-passphrase": CA_PASSPHRASE})
    # The CA the internal_ca role then keeps (its name constraints widened to the gateway by
    # internal_ca_extra_permitted_ips), and the upstream's certificate from it.
    ca, _ = pki.load_or_create_ca(
        state / "pki",
        "Dockyard internal CA (molecule.test)",
        passphrase=CA_PASSPHRASE.encode(),
        permitted_dns=("molecule.test",),
        permitted_ips=(GATEWAY, ADDRESS),
    )
    pki.ensure_cert(ca, pki.CertRequest("test-upstream", ("test-upstream.molecule.test",), (GATEWAY,)))
    certs = state / "pki" / "certs"
    upstream = TestUpstream(tmp / "upstream", certs / "test-upstream.crt", certs / "test-upstream.key", (GATEWAY, 0))
    upstream.start()
    trivy = TrivyRegistry.start(tmp / "trivy", certs / "test-upstream.crt", certs / "test-upstream.key", ca.cert_path)
    env = {
        **os.environ,
        "DOCKYARD_ROOT": str(ROOT),
        "DOCKYARD_TEST_IMAGE": test_image,
        "DOCKYARD_HARBOR_STATE": str(state),
        "DOCKYARD_HARBOR_VAULT": str(vault_file),
        "DOCKYARD_HARBOR_OVERLAY": str(tmp / "overlay.yml"),
        "ANSIBLE_VAULT_PASSWORD_FILE": str(password),
        "MOLECULE_GLOB": "tests/molecule/*/molecule.yml",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PY_COLORS": "0",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    env.pop("ANSIBLE_CONFIG", None)
    result = Lab(root, state, vault_file, upstream, tmp / "overlay.yml", env, test_image, trivy)
    try:
        yield result
    finally:
        result.molecule("destroy")
        upstream.stop()
        trivy.stop()
        _docker("network", "rm", NETWORK, check=False)


@pytest.fixture
def operator(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's root as an operator's checkout: the sample inventories on molecule.test (Harbor
    installed, the other tools external and unreachable), and the site's DNS for Harbor's name only."""
    real = socket.getaddrinfo

    def resolve(host: str, *args: object, **kwargs: object) -> object:
        return real(ADDRESS if host == NAME else host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", lab.env["ANSIBLE_VAULT_PASSWORD_FILE"])
    if not (lab.root / "roles").exists():
        shutil.copytree(
            ROOT / "inventories",
            lab.root / "inventories",
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("local", "vault.yml"),
        )
        (lab.root / "roles").symlink_to(ROOT / "roles")
        spec_file = lab.root / "inventories" / "platform" / "group_vars" / "all" / "dockyard.yml"
        spec = yaml.safe_load(spec_file.read_text())
        spec["dockyard_domain"] = "molecule.test"
        spec["dockyard_tools"]["harbor"] = {"mode": "install"}
        spec["dockyard_tools"]["gitlab"] = {"mode": "external", "url": "https://gitlab.invalid"}
        spec["dockyard_tools"]["jenkins"] = {"mode": "external", "url": "https://jenkins.invalid"}
        spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    return lab.root


def _seed(root: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    from dockyard.seed.cli import seed_command  # noqa: PLC0415

    capsys.readouterr()
    seed_command(root, str(root / "inventories"), "dev", as_json=True)
    out = capsys.readouterr().out
    return json.loads(out[out.index("{") :])


def _harbor_rows(report: dict[str, object]) -> list[dict[str, str]]:
    return [c for c in report["changes"] if c["tool"] == "harbor"]  # type: ignore[index,union-attr]


def _out(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout + proc.stderr)[-12000:]


def test_install_previous_version_idempotence_verify(lab: Lab) -> None:
    lab.publish(PREVIOUS)
    lab.overlay(PREVIOUS)
    proc = lab.molecule("destroy", "create", "converge", "idempotence", "verify")
    assert proc.returncode == 0, _out(proc)
    hits = [h for h in lab.upstream.hits_for(f"harbor-offline-installer-{PREVIOUS}.tgz") if h.method == "GET"]
    assert [h.status for h in hits] == [200], "the installer came from the test upstream, once"
    assert lab.host("readlink", "/opt/harbor/current") == f"/opt/harbor/{PREVIOUS}"
    secrets = Vault(lab.vault_file, VAULT_PASSWORD)
    assert secrets.get("harbor.admin_token") == f"admin:{secrets.get('harbor.admin_password')}"
    assert (secrets.get("harbor.admin_password") or "-") not in _out(proc)


def test_seed_uses_the_installed_harbor_with_no_manual_step(
    lab: Lab, operator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`invoke seed` in mode install: https://harbor.molecule.test, the internal CA, the credential
    the role put in the vault; over the lab network and real TLS. Rerun: all noop."""
    first = _seed(operator, capsys)
    assert first["failures"] == [], first
    assert any(c["action"] == "create" for c in _harbor_rows(first)), first
    assert not [s for s in first["skipped"] if s["tool"] == "harbor"], first  # type: ignore[union-attr,index]
    again = _seed(operator, capsys)
    assert again["failures"] == [], again
    assert {c["action"] for c in _harbor_rows(again)} == {"noop"}, again


def test_a_jump_of_three_minors_is_refused_before_anything_changes(lab: Lab) -> None:
    lab.overlay(JUMP)
    before = lab.calls()
    proc = lab.molecule("converge")
    assert proc.returncode != 0
    assert f"catalogue version {JUMP} cannot be installed over {PREVIOUS.lstrip('v')}" in _out(proc), _out(proc)
    assert lab.calls() == before, "nothing ran on the host"
    assert not lab.upstream.hits_for(JUMP), "nothing was downloaded"
    assert lab.host("readlink", "/opt/harbor/current") == f"/opt/harbor/{PREVIOUS}"
    assert lab.host("ls", "/opt/harbor") == "\n".join(sorted(["current", "downloads", "tls", PREVIOUS]))
    assert not list((lab.state / "backups").glob(f"molecule/harbor/*/harbor-{PREVIOUS}-*.tgz")), "no backup"


def test_plan_lists_the_upgrade_steps(lab: Lab) -> None:
    lab.publish(PIN)
    lab.overlay(PIN)
    before = lab.calls()
    proc = lab.molecule("converge", extra=("--", "--check"))
    assert proc.returncode == 0, _out(proc)
    out = _out(proc)
    assert f"upgrade {PREVIOUS.lstrip('v')} -> {PIN}" in out, out
    for step in ("1. back up", "migrate -i", "./install.sh --with-trivy", "/api/v2.0/health", "schema_migrations"):
        assert step in out, step
    assert lab.calls() == before, "check mode ran nothing on the host"
    assert lab.host("readlink", "/opt/harbor/current") == f"/opt/harbor/{PREVIOUS}"


def test_upgrade_to_the_pin_backs_up_first_migrates_keeps_the_data_and_rotates_the_admin_password(
    lab: Lab, operator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The upgrade, in the same run as a new admin password in the vault: after the first install
    harbor_admin_password is Harbor's no more, so the role sets it through PUT /users/{id}/password
    (logged in with the credential stored last) and harbor.admin_token follows; seed goes on with no
    manual step. (That a password change alone never reinstalls: tests/unit/test_harbor_apply_hash.py.)"""
    lab.publish(PIN)
    lab.overlay(PIN)
    old_pw = Vault(lab.vault_file, VAULT_PASSWORD).get("harbor.admin_password") or ""
    new_pw = "Rotated-Pw-" + hashlib.sha256(old_pw.encode()).hexdigest()[:12] + "x9"
    Vault(lab.vault_file, VAULT_PASSWORD).set_many({"harbor.admin_password": new_pw})
    before = len(lab.calls())
    proc = lab.molecule("converge", "idempotence")
    assert proc.returncode == 0, _out(proc)
    assert old_pw not in _out(proc) and new_pw not in _out(proc)
    assert lab.host("readlink", "/opt/harbor/current") == f"/opt/harbor/{PIN}"
    new = lab.calls()[before:]
    steps = [(c["tool"], c["cwd"]) for c in new if c["tool"] in ("install.sh", "prepare")]
    assert steps == [("install.sh", f"/opt/harbor/{PIN}"), ("prepare", f"/opt/harbor/{PIN}")], new
    # Backup first: the N-1 archive (database, secret/, the old installer folder) on the controller.
    archives = sorted((lab.state / "backups" / "molecule" / "harbor").glob(f"*/harbor-{PREVIOUS}-*.tgz"))
    assert len(archives) == 1, archives
    listing = subprocess.run(["tar", "-tzf", str(archives[0])], capture_output=True, text=True, check=True).stdout
    assert f"opt/harbor/{PREVIOUS}/harbor.yml" in listing.splitlines()
    assert "data/database/standin-state.json" in listing.splitlines()
    assert "data/database/schema_migrations.json" in listing.splitlines()
    # The new version's migrator ran on a copy of the old harbor.yml; the schema was migrated, clean.
    migrated = yaml.safe_load(lab.host("cat", f"/opt/harbor/{PIN}/harbor.yml.migrated"))
    assert migrated["_version"] == ".".join(PIN.lstrip("v").split(".")[:2]) + ".0"
    schema = json.loads(lab.host("cat", "/data/database/schema_migrations.json"))
    assert schema == {"version": 215, "dirty": False, "migrated_from": 214}, schema
    assert (
        lab.host(
            "docker",
            "exec",
            "harbor-db",
            "psql",
            "-U",
            "postgres",
            "-d",
            "registry",
            "-tAc",
            "SELECT dirty FROM schema_migrations",
        )
        == "f"
    )
    # The password was rotated through the API; the stored credential follows.
    assert Vault(lab.vault_file, VAULT_PASSWORD).get("harbor.admin_token") == f"admin:{new_pw}"
    ca = str(lab.state / "pki" / "ca.crt")
    url = f"https://{NAME}/api/v2.0/users/current"
    assert requests.get(url, auth=("admin", new_pw), verify=ca, timeout=10).status_code == 200
    assert requests.get(url, auth=("admin", old_pw), verify=ca, timeout=10).status_code == 401
    # What seed made on N-1 is still there: the rerun is all noop with the new credential.
    again = _seed(operator, capsys)
    assert again["failures"] == [], again
    rows = _harbor_rows(again)
    assert rows and {c["action"] for c in rows} == {"noop"}, again
