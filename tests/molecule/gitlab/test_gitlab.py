"""The gitlab scenario, driven from here because it needs what Molecule cannot make: the stand-in
gitlab-ce package (tests/standins/gitlab), served by the test upstream on the scenario network's
gateway with a certificate from the internal CA the host trusts, reached through the catalogue
overlay (the artefact chain). Then `molecule converge`, `idempotence`, `verify`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from dockyard import catalogue, pki
from dockyard.secrets import Vault
from tests.molecule.runner import molecule_steps
from tests.standins.gitlab.build import build
from tests.standins.upstream import TestUpstream

ROOT = Path(__file__).resolve().parents[3]
NETWORK = "dy11-mol-gitlab"
HOST = "dy11-mol-gitlab"
ART = "gitlab-ce-debian-bookworm-amd64"
CA_PASSPHRASE = "molecule-only-ca-key-passphrase"

pytestmark = pytest.mark.hosts


def _docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout.strip()


@dataclass
class Lab:
    root: Path  # a repository root of the test's own: .dockyard (state), inventories/ (vault)
    state: Path
    vault_file: Path
    upstream: TestUpstream
    overlay_file: Path
    env: dict[str, str]

    def molecule(self, *steps: str) -> subprocess.CompletedProcess[str]:
        return molecule_steps("gitlab", steps, self.env)

    def overlay(self, version: str, extra: dict[str, dict[str, str]] | None = None) -> None:
        """Point the catalogue at the published stand-ins; ``version`` becomes the pin."""
        over = self.upstream.overlay()
        over["gitlab"]["version"] = version
        for art_id, fields in (extra or {}).items():
            over["gitlab"]["artefacts"][art_id].update(fields)
        self.overlay_file.write_text(yaml.safe_dump({"dockyard_catalogue": over}))

    def host(self, *cmd: str) -> str:
        return _docker("exec", HOST, *cmd)


@pytest.fixture(scope="module")
def lab(test_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("gitlab-lab")
    _docker("network", "rm", NETWORK, check=False)
    _docker("network", "create", NETWORK)
    gateway = json.loads(_docker("network", "inspect", NETWORK))[0]["IPAM"]["Config"][0]["Gateway"]
    root = tmp / "root"
    state = root / ".dockyard"
    (state / "pki").mkdir(parents=True)
    password = state / "vault-password"
    password.write_text("molecule-gitlab-vault\n")
    password.chmod(0o600)
    vault_file = root / "inventories" / "platform" / "group_vars" / "all" / "vault.yml"
    Vault(vault_file, b"molecule-gitlab-vault").set_many(
        {"gitlab.root_password": "molecule-root-pw-1", "pki.ca-key-passphrase": CA_PASSPHRASE}
    )
    # The CA the internal_ca role then keeps (it reuses an existing one, its name constraints
    # widened to the gateway by internal_ca_extra_permitted_ips), and the upstream's certificate.
    ca, _ = pki.load_or_create_ca(
        state / "pki",
        "Dockyard internal CA (molecule.test)",
        passphrase=CA_PASSPHRASE.encode(),
        permitted_dns=("molecule.test",),
        permitted_ips=(gateway,),
    )
    pki.ensure_cert(ca, pki.CertRequest("test-upstream", ("test-upstream.molecule.test",), (gateway,)))
    (tmp / "extra.yml").write_text(yaml.safe_dump({"internal_ca_extra_permitted_ips": [gateway]}))
    certs = state / "pki" / "certs"
    upstream = TestUpstream(tmp / "upstream", certs / "test-upstream.crt", certs / "test-upstream.key", (gateway, 0))
    upstream.start()
    env = {
        **os.environ,
        "DOCKYARD_ROOT": str(ROOT),
        "DOCKYARD_TEST_IMAGE": test_image,
        "DOCKYARD_GITLAB_STATE": str(state),
        "DOCKYARD_GITLAB_VAULT": str(vault_file),
        "DOCKYARD_GITLAB_OVERLAY": str(tmp / "overlay.yml"),
        "DOCKYARD_GITLAB_EXTRA": str(tmp / "extra.yml"),
        "ANSIBLE_VAULT_PASSWORD_FILE": str(password),
        "MOLECULE_GLOB": "tests/molecule/*/molecule.yml",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PY_COLORS": "0",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    env.pop("ANSIBLE_CONFIG", None)
    result = Lab(root, state, vault_file, upstream, tmp / "overlay.yml", env)
    try:
        yield result
    finally:
        result.molecule("destroy")
        upstream.stop()
        _docker("network", "rm", NETWORK, check=False)


def publish(lab: Lab, version: str, art_id: str = ART) -> None:
    url = catalogue.artefact(catalogue.product(), "gitlab", ART).url or ""
    url = url.replace("19.3.0-ce.0", version)
    lab.upstream.publish("gitlab", art_id, url, build(lab.root / "debs", version))


FIRST = "18.8.0-ce.0"  # installed first, then upgraded across the required stops 18.11 and 19.2 to the pin
STOPS = {"18.11.4-ce.0": "gitlab-ce-18.11-debian-bookworm-amd64", "19.2.1-ce.0": "gitlab-ce-19.2-debian-bookworm-amd64"}


def test_install_idempotence_verify(lab: Lab) -> None:
    publish(lab, FIRST)
    lab.overlay(FIRST)
    proc = lab.molecule("destroy", "create", "converge", "idempotence", "verify")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-12000:]
    assert lab.upstream.hits_for(f"gitlab-ce_{FIRST}_amd64.deb"), "the package came from the test upstream"
    calls = [json.loads(line) for line in lab.host("cat", "/var/log/dockyard-standin/calls.jsonl").splitlines()]
    reconfigures = [c for c in calls if c["tool"] == "gitlab-ctl" and c["argv"] == ["reconfigure"]]
    assert len(reconfigures) == 2, calls  # the package's own first one, then the handler's; none on the rerun
    tokens = [c for c in calls if c["tool"] == "gitlab-rails" and c["argv"][-1].endswith("automation_token.rb")]
    assert len(tokens) == 1, calls
    assert "molecule-root-pw-1" not in (proc.stdout + proc.stderr)


def _seed(lab: Lab, capsys: pytest.CaptureFixture[str], **options: bool) -> dict[str, object]:
    from dockyard.seed.cli import seed_command  # noqa: PLC0415

    capsys.readouterr()
    seed_command(lab.root, str(lab.root / "inventories"), "dev", as_json=True, **options)
    out = capsys.readouterr().out
    return json.loads(out[out.index("{") :])


def test_seed_uses_the_installed_gitlab_with_no_manual_step(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`invoke seed` in mode install: https://gitlab.molecule.test, the internal CA, the token the
    role put in the vault; over the lab network and real TLS. Rerun: all noop. --rotate: a new token."""
    address = lab.host("hostname", "-I").split()[0]
    real = socket.getaddrinfo

    def resolve(host: str, *args: object, **kwargs: object) -> object:  # the site's DNS, for this name only
        return real(address if host == "gitlab.molecule.test" else host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
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
    spec["dockyard_tools"]["harbor"] = {"mode": "external", "url": "https://harbor.invalid"}
    spec["dockyard_tools"]["jenkins"] = {"mode": "external", "url": "https://jenkins.invalid"}
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))

    first = _seed(lab, capsys)
    assert first["failures"] == [], first
    gitlab = [c for c in first["changes"] if c["tool"] == "gitlab"]
    assert any(c["action"] == "create" for c in gitlab), first
    assert not [s for s in first["skipped"] if s["tool"] == "gitlab"], first

    again = _seed(lab, capsys)
    assert {c["action"] for c in again["changes"] if c["tool"] == "gitlab"} == {"noop"}, again

    vault = lab.vault_file
    before = Vault(vault, b"molecule-gitlab-vault").get("gitlab.root_token")
    rotated = _seed(lab, capsys, rotate=True)
    assert rotated["failures"] == [], rotated
    rows = [c for c in rotated["changes"] if c["kind"] == "token"]
    assert rows and rows[0]["action"] == "update", rotated
    after = Vault(vault, b"molecule-gitlab-vault").get("gitlab.root_token")
    assert after and after != before
    assert {c["action"] for c in _seed(lab, capsys)["changes"] if c["tool"] == "gitlab"} == {"noop"}


def _calls(lab: Lab) -> list[dict[str, object]]:
    return [json.loads(line) for line in lab.host("cat", "/var/log/dockyard-standin/calls.jsonl").splitlines()]


def test_upgrade_across_two_required_stops_backs_up_first_and_refuses_a_skip(lab: Lab) -> None:
    publish(lab, "19.3.0-ce.0")
    deb = {"kind": "deb", "package": "gitlab-ce", "arch": "amd64", "os_release": "debian-12"}
    # A skip: the catalogue lacks the 18.11 stop's package -> refused before anything changes.
    publish(lab, "19.2.1-ce.0", STOPS["19.2.1-ce.0"])
    lab.overlay("19.3.0-ce.0", {STOPS["19.2.1-ce.0"]: {**deb, "version": "19.2.1-ce.0"}})
    before = len(_calls(lab))
    refused = lab.molecule("converge")
    assert refused.returncode != 0
    assert "needs required stop 18.11" in refused.stdout + refused.stderr
    assert len(_calls(lab)) == before, "nothing ran on the host"
    assert lab.host("dpkg-query", "-W", "-f", "${Version}", "gitlab-ce") == FIRST

    publish(lab, "18.11.4-ce.0", STOPS["18.11.4-ce.0"])
    lab.overlay("19.3.0-ce.0", {art: {**deb, "version": v} for v, art in STOPS.items()})
    proc = lab.molecule("converge", "idempotence", "verify")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-12000:]
    assert lab.host("dpkg-query", "-W", "-f", "${Version}", "gitlab-ce") == "19.3.0-ce.0"
    new = _calls(lab)[before:]
    steps = [(c["tool"], c["argv"][0]) for c in new if c["tool"] in ("gitlab-backup", "gitlab-ctl", "gitlab-rails")]
    assert steps[:2] == [("gitlab-backup", "create"), ("gitlab-ctl", "backup-etc")], steps  # backup first
    order = [h.path.rsplit("/", 1)[-1] for h in lab.upstream.hits if h.path.endswith(".deb")]
    wanted = ["gitlab-ce_18.11.4-ce.0_amd64.deb", "gitlab-ce_19.2.1-ce.0_amd64.deb", "gitlab-ce_19.3.0-ce.0_amd64.deb"]
    assert [o for o in order if o in wanted] == wanted, order
    waits = [c for c in new if c["tool"] == "gitlab-rails" and "queued.count" in str(c["argv"])]
    assert len(waits) == 3, new  # background migrations waited on after each hop
    backups = sorted((lab.state / "backups" / "molecule" / "gitlab").glob("*-before-19.3.0-ce.0/*"))
    names = [b.name for b in backups]
    assert any(n.endswith("_18.8.0-ce_gitlab_backup.tar") for n in names), names
    assert any(n.startswith("gitlab_config_") for n in names), names
