"""The Jenkins plugin lockfile is closed under dependencies, and every JCasC document Dockyard
writes (the role's security document, seed's cloud and system credential) has only key paths the
vendored JCasC / kubernetes-plugin references show."""

from __future__ import annotations

import copy
from pathlib import Path

import jinja2
import pytest
import yaml

from dockyard import catalogue, plugin_lock
from dockyard.seed import jenkins_config as cfg
from dockyard.seed.jenkins import SEED_CASC
from dockyard.spec.validate import build
from tests.jcasc_reference import undocumented

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "tools" / "jenkins"
PRODUCT = catalogue.product()


def test_the_product_lockfile_is_closed_under_dependencies_and_has_what_the_platform_needs() -> None:
    assert plugin_lock.problems(PRODUCT) == []
    assert len(plugin_lock.plugins(PRODUCT)) >= 60


def test_a_missing_or_too_old_dependency_is_named() -> None:
    broken = copy.deepcopy(PRODUCT)
    arts = broken["jenkins_plugins"]["artefacts"]
    del arts["jersey2-api"]  # gitlab-plugin needs it
    arts["ssh-agent"]["requires"]["bouncycastle-api"] = "99.0"
    del arts["job-dsl"]
    assert plugin_lock.problems(broken) == [
        "jenkins_plugins: job-dsl: the platform needs it and the lockfile lacks it",
        "jenkins_plugins.artefacts.gitlab-plugin: needs jersey2-api any, which is not in the lockfile",
        "jenkins_plugins.artefacts.ssh-agent: needs bouncycastle-api >= 99.0, "
        "the lockfile has 2.30.1.83-289.v8426fcd19371",
    ]


@pytest.mark.parametrize(
    ("have", "need", "ok"),
    [
        ("4423.vb_59f230b_ce53", "4400.v1", True),
        ("2.30.1.83-289.v8426fcd19371", "2.16.3", True),
        ("1.9", "1.10", False),
        ("5.10.1", "any", True),
    ],
)
def test_versions_compare_like_the_update_center(have: str, need: str, ok: bool) -> None:
    assert plugin_lock.at_least(have, need) is ok


def test_every_plugin_has_a_download_url_of_its_version() -> None:
    for pid, entry in plugin_lock.plugins(PRODUCT).items():
        assert entry["url"] == f"https://updates.jenkins.io/download/plugins/{pid}/{entry['version']}/{pid}.hpi"
        assert entry["sha256"] != "unknown" or entry["unknown_reason"]


def _role_template(name: str, **values: object) -> str:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    env = jinja2.Environment(  # noqa: S701 (YAML and systemd text, not HTML)
        loader=jinja2.FileSystemLoader(ROLE / "templates"), undefined=jinja2.StrictUndefined
    )
    context = {**defaults, "dockyard_domain": "platform.example.com", "playbook_dir": "/pb", **values}
    for _ in range(3):  # defaults refer to each other
        context = {k: env.from_string(v).render(context) if isinstance(v, str) else v for k, v in context.items()}
    return env.get_template(name).render(context)


def test_the_security_document_is_a_local_realm_with_the_vault_password_and_a_global_matrix() -> None:
    doc = yaml.safe_load(_role_template("casc-security.yaml.j2"))
    assert undocumented(doc) == []
    realm = doc["jenkins"]["securityRealm"]["local"]
    assert realm["allowsSignup"] is False
    (admin,) = realm["users"]
    assert admin == {"id": "admin", "password": "${jenkins-admin-password}"}  # a JCasC secret, never the value
    configs = yaml.safe_load((ROLE / "tasks" / "configs.yml").read_text())
    secret_paths = [f["path"] for t in configs for f in (t.get("dockyard_files") or {}).get("files", []) if "path" in f]
    assert "{{ jenkins_casc_secrets_dir }}/jenkins-admin-password" in secret_paths
    entries = doc["jenkins"]["authorizationStrategy"]["globalMatrix"]["entries"]
    assert {"user": {"name": "admin", "permissions": ["Overall/Administer"]}} in entries
    assert not any("anonymous" in str(e) for e in entries)
    assert doc["unclassified"]["location"]["url"] == "https://jenkins.platform.example.com/"


def test_the_service_override_turns_the_wizard_off_and_points_jcasc_at_the_directory() -> None:
    text = _role_template("override.conf.j2", jenkins_java=21, ansible_facts={"architecture": "x86_64"})
    assert 'Environment="CASC_JENKINS_CONFIG=/var/lib/jenkins/casc.d"' in text
    assert "-Djenkins.install.runSetupWizard=false" in text
    assert 'Environment="JENKINS_LISTEN_ADDRESS=127.0.0.1"' in text
    reference = (ROOT / "tests/reference/jenkins-core/packaging/systemd/jenkins.service").read_text()
    for line in text.splitlines():
        if line.startswith("Environment="):
            name = line.split("=", 2)[1].strip('"')
            if name not in ("CASC_JENKINS_CONFIG", "SECRETS"):  # read by the JCasC plugin, not the unit
                assert f'Environment="{name}=' in reference, f"{name} is not a variable the packaged unit documents"


def test_seeds_cloud_and_system_credential_have_only_documented_key_paths() -> None:
    spec = yaml.safe_load((ROOT / "inventories/platform/group_vars/all/dockyard.yml").read_text())
    platform = build(spec)
    cloud = cfg.cloud(
        platform,
        cfg.Cluster("https://k8s:6443", "PEM"),
        cfg.build_images(platform, PRODUCT),
        "gitlab.example ssh-ed25519 AAAA",
    )
    credential = cfg.system_credential("apiVersion: v1\n", "managed")
    document = {
        "jenkins": {"clouds": [cloud]},
        "credentials": {"system": {"domainCredentials": [{"credentials": [credential]}]}},
    }
    assert undocumented(document) == []


def test_the_roles_jcasc_directory_never_declares_what_seed_configures() -> None:
    """seed posts the cloud, the system credentials and the host key verification through
    /configuration-as-code/configure; a reload of the role's directory must not replace them, and
    the default merge strategy (errorOnConflict) would refuse two sources declaring one attribute."""
    doc = yaml.safe_load(_role_template("casc-security.yaml.j2"))
    declared = {(root, attr) for root, attrs in doc.items() for attr in attrs}
    assert declared and not declared & set(SEED_CASC)


def test_a_misplaced_attribute_is_caught() -> None:
    assert undocumented({"jenkins": {"clouds": [{"kubernetes": {"templates": [{"image": "x"}]}}]}}) == [
        "jenkins.clouds[].kubernetes.templates[].image"
    ]
