"""harbor.yml as roles/tools/harbor renders it, checked against the installer's own template
(tests/reference/harbor/make/harbor.yml.tmpl of the catalogue's version): every key, its type,
the required values, the Trivy offline switches and the external-database block."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from dockyard import catalogue
from tests.catalogue_pins import unknowns_pinned
from tests.cli_runner import invoke as run_invoke
from tests.conftest import SpecEditor

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "tools" / "harbor"
TMPL = ROOT / "tests" / "reference" / "harbor" / "make" / "harbor.yml.tmpl"
SECRET = 'Pa"ss: w0rd #1'  # YAML-hostile on purpose


def reference() -> dict[str, Any]:
    return yaml.safe_load(TMPL.read_text(encoding="utf-8"))


def commented_block(name: str) -> dict[str, Any]:
    """A block the template ships commented out (``# external_database:`` ...), uncommented."""
    lines = TMPL.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"# {name}:")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(re.sub(r"^# ?", "", line))
    return yaml.safe_load("\n".join(block))[name]


def render(**overrides: Any) -> dict[str, Any]:
    version = catalogue.artefact(catalogue.merged({}), "harbor", "harbor-offline-installer").version
    variables: dict[str, Any] = {
        "ansible_managed": "Managed by Dockyard",
        "harbor_version": version,
        "harbor_config_version": ".".join(version.lstrip("v").split(".")[:2]) + ".0",
        "harbor_hostname": "harbor.platform.test",
        "harbor_http_port": 80,
        "harbor_https_port": 443,
        "harbor_tls_cert": "/opt/harbor/tls/harbor.platform.test.crt",
        "harbor_tls_key": "/opt/harbor/tls/harbor.platform.test.key",
        "harbor_admin_password": SECRET,
        "harbor_database_password": SECRET + "-db",
        "harbor_external_database": {},
        "harbor_data_volume": "/data",
        "harbor_trivy_offline": False,
        "harbor_trivy_db_repository": "ghcr.io/aquasecurity/trivy-db",
        "harbor_trivy_java_db_repository": "ghcr.io/aquasecurity/trivy-java-db",
        "harbor_log_level": "info",
        "harbor_log_location": "/var/log/harbor",
        **overrides,
    }
    templar = Templar(loader=DataLoader(), variables=variables)
    text = templar.template(trust_as_template((ROLE / "templates" / "harbor.yml.j2").read_text(encoding="utf-8")))
    return yaml.safe_load(text)


def leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree}


def assert_matches_template(rendered: dict[str, Any], template: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    want = {k: v for k, v in leaves(template).items() if not k.startswith(skip)}
    got = leaves(rendered)
    missing = sorted(set(want) - set(got))
    assert not missing, f"keys of harbor.yml.tmpl missing from the rendered harbor.yml: {missing}"
    for key, value in want.items():
        if value is not None:
            assert type(got[key]) is type(value), f"{key}: {got[key]!r} is not a {type(value).__name__} like {value!r}"
    unknown = sorted(k for k in got if k not in want and not k.startswith("external_database"))
    assert not unknown, f"keys the template does not have: {unknown}"


def test_online_has_every_key_of_the_template_with_its_type() -> None:
    rendered = render()
    assert_matches_template(rendered, reference())
    assert rendered["hostname"] == "harbor.platform.test"
    assert rendered["https"] == {
        "port": 443,
        "certificate": "/opt/harbor/tls/harbor.platform.test.crt",
        "private_key": "/opt/harbor/tls/harbor.platform.test.key",
    }
    assert rendered["harbor_admin_password"] == SECRET
    assert rendered["database"]["password"] == SECRET + "-db"
    assert rendered["data_volume"] == "/data"
    trivy = rendered["trivy"]
    assert (trivy["skip_update"], trivy["skip_java_db_update"], trivy["offline_scan"]) == (False, False, False)
    assert trivy["db_repository"] == "ghcr.io/aquasecurity/trivy-db"


def test_version_is_the_one_the_installers_template_carries() -> None:
    assert render()["_version"] == reference()["_version"]


def test_airgapped_trivy_never_downloads() -> None:
    rendered = render(
        harbor_trivy_offline=True,
        harbor_trivy_db_repository="mirror.platform.test:5000/ghcr.io/aquasecurity/trivy-db",
        harbor_trivy_java_db_repository="mirror.platform.test:5000/ghcr.io/aquasecurity/trivy-java-db",
    )
    assert_matches_template(rendered, reference())
    trivy = rendered["trivy"]
    assert trivy["skip_update"] is True and trivy["skip_java_db_update"] is True and trivy["offline_scan"] is True
    assert trivy["db_repository"].startswith("mirror.platform.test:5000/")


def test_external_database_replaces_the_bundled_one() -> None:
    rendered = render(
        harbor_external_database={"host": "db.platform.test", "port": 5433, "db_name": "harbor", "username": "harbor"},
    )
    assert "database" not in rendered, "the bundled database's block (and its password) must not be rendered"
    assert_matches_template(rendered, reference(), skip=("database",))
    ext = rendered["external_database"]["harbor"]
    template = commented_block("external_database")["harbor"]
    assert sorted(ext) == sorted(template)
    assert ext["host"] == "db.platform.test" and ext["port"] == 5433
    assert ext["password"] == SECRET + "-db"
    assert ext["ssl_mode"] == "require"


@pytest.mark.parametrize("key", ["hostname", "harbor_admin_password", "data_volume"])
def test_required_values_are_never_empty(key: str) -> None:
    assert render()[key]


def test_role_reads_passwords_from_the_vault_only() -> None:
    vars_text = (ROLE / "vars" / "main.yml").read_text(encoding="utf-8")
    assert "lookup('dockyard_secret', harbor_admin_password_key)" in vars_text
    assert "Harbor12345" not in (ROLE / "templates" / "harbor.yml.j2").read_text(encoding="utf-8")


# ------------------------------------------------- the same files through `invoke render --configs`
def rendered_harbor_yml(tree: Path, out: Path) -> dict[str, Any]:
    proc = run_invoke("render", "--env", "dev", "--configs", "--out", str(out), "--inventories", str(tree))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = catalogue.artefact(catalogue.merged({}), "harbor", "harbor-offline-installer").version
    host = out / "dev" / "hosts" / "harbor-1"
    unit = (host / "etc/systemd/system/harbor.service").read_text()
    assert f"ExecStart=docker-compose -p harbor -f /opt/harbor/{version}/docker-compose.yml up -d" in unit
    assert f"ExecStop=docker-compose -p harbor -f /opt/harbor/{version}/docker-compose.yml stop\n" in unit
    assert json.loads((host / "etc/docker/daemon.json").read_text())["live-restore"] is True
    return yaml.safe_load((host / f"opt/harbor/{version}/harbor.yml").read_text())


def test_render_configs_writes_harbor_yml_with_vault_placeholders(sample_tree: Path, tmp_path: Path) -> None:
    rendered = rendered_harbor_yml(sample_tree, tmp_path / "out")
    assert_matches_template(rendered, reference())
    assert rendered["hostname"] == "harbor.platform.example.com"
    assert rendered["harbor_admin_password"] == "<vault:harbor.admin_password>"
    assert rendered["database"]["password"] == "<vault:harbor.database_password>"
    assert rendered["trivy"]["skip_update"] is False


def test_render_configs_air_gapped_turns_trivy_offline(edit_spec: SpecEditor, tmp_path: Path) -> None:
    def airgap(spec: dict[str, Any]) -> None:
        spec["dockyard_airgap"] = True
        spec["dockyard_time_servers"] = ["ntp1.platform.example.com"]  # air-gapped: the site's own

    def pins(versions: dict[str, Any]) -> None:
        versions["dockyard_catalogue"] = unknowns_pinned()

    edit_spec(pins, "versions.yml")
    tree = edit_spec(airgap)
    hosts = tree / "platform" / "hosts.yml"
    inv = yaml.safe_load(hosts.read_text())
    inv["all"]["children"]["mirror"]["hosts"] = {"mirror-1": {"ansible_host": "192.0.2.14"}}
    hosts.write_text(yaml.safe_dump(inv))
    rendered = rendered_harbor_yml(tree, tmp_path / "out")
    assert_matches_template(rendered, reference())
    trivy = rendered["trivy"]
    assert (trivy["skip_update"], trivy["skip_java_db_update"], trivy["offline_scan"]) == (True, True, True)
    assert trivy["db_repository"].endswith("/ghcr.io/aquasecurity/trivy-db")
    assert trivy["db_repository"].startswith("mirror.platform.example.com")
