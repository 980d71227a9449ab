"""The containerd role's hosts.toml per mirrored registry, parsed as containerd parses it.

containerd 1.6 (Debian 12's, and the lab's) rejects a hosts.toml without a `[host]` table
("failed to decode hosts.toml: invalid `host` tree") and then falls back to the upstream registry:
an air-gapped node would quietly reach out. These tests hold both shapes to that parser's contract."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jinja2
import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "containerd"
MIRROR = "mirror.example.test:5000"


def _files(role: Path, template: str, context: dict[str, object]) -> list[dict[str, str]]:
    """A role's dockyard_files list template, rendered as Ansible's template lookup does (trim_blocks)."""
    env = jinja2.Environment(  # noqa: S701 (YAML and TOML text, not HTML)
        loader=jinja2.FileSystemLoader(role / "templates"), undefined=jinja2.StrictUndefined, trim_blocks=True
    )
    return yaml.safe_load(env.get_template(template).render(context))


def _rendered(airgap: bool) -> dict[str, dict[str, object]]:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    context: dict[str, object] = {
        "containerd_mirrored_registries": defaults["containerd_mirrored_registries"],
        "containerd_config_path": defaults["containerd_config_path"],
        "containerd_ca_file": defaults["containerd_ca_file"],
        "containerd_mirror_registry": MIRROR,
        "dockyard_airgap": airgap,
        "ansible_managed": "managed",
    }
    return {f["path"]: tomllib.loads(f["content"]) for f in _files(ROLE, "mirror-hosts.yml.j2", context)}


@pytest.mark.parametrize("airgap", [True, False])
def test_every_hosts_toml_has_a_host_table_that_tries_the_mirror_first(airgap: bool) -> None:
    parsed = _rendered(airgap)
    assert len(parsed) == 5
    for path, doc in parsed.items():
        registry = path.split("/")[-2]
        hosts = doc.get("host")
        assert isinstance(hosts, dict) and hosts, f"{path}: no [host] table (containerd 1.6 refuses it)"
        assert list(hosts) == [f"https://{MIRROR}/v2/{registry}"]
        mirror = hosts[f"https://{MIRROR}/v2/{registry}"]
        assert mirror == {"capabilities": ["pull", "resolve"], "override_path": True, "ca": doc.get("ca", mirror["ca"])}
        assert "skip_verify" not in mirror


def test_air_gapped_the_fallback_server_is_the_mirror_never_upstream() -> None:
    for path, doc in _rendered(True).items():
        registry = path.split("/")[-2]
        assert doc["server"] == f"https://{MIRROR}/v2/{registry}", path
        assert doc["override_path"] is True and doc["capabilities"] == ["pull", "resolve"]


def test_connected_the_fallback_server_is_upstream() -> None:
    parsed = _rendered(False)
    assert parsed["/etc/containerd/certs.d/docker.io/hosts.toml"]["server"] == "https://registry-1.docker.io"


def test_the_internal_registries_trust_files_have_a_host_table_with_the_ca() -> None:
    context: dict[str, object] = {
        "internal_ca_registries": ["harbor.example.test", MIRROR],
        "internal_ca_containerd_host": True,
        "internal_ca_docker_host": False,
        "internal_ca_dockerd": {"stat": {"exists": False}},
        "internal_ca_trust_file": "/usr/local/share/ca-certificates/dockyard-ca.crt",
        "internal_ca_pki": {"ca_certificate": "-----BEGIN CERTIFICATE-----\n"},
        "ansible_managed": "managed",
    }
    files = _files(ROLE.parent / "internal_ca", "trust-files.yml.j2", context)
    assert [f["path"] for f in files] == [
        "/etc/containerd/certs.d/harbor.example.test/hosts.toml",
        f"/etc/containerd/certs.d/{MIRROR}/hosts.toml",
    ]  # no Docker trust on a host without a Docker Engine
    for f in files:
        registry = f["path"].split("/")[-2]
        doc = tomllib.loads(f["content"])
        assert doc["host"] == {f"https://{registry}": {"ca": context["internal_ca_trust_file"]}}
        assert doc["server"] == f"https://{registry}"
