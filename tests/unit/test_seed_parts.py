"""The small parts of seed: report, markers, fingerprints, keys, access, content, wiring, redaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.gitops import deploy_repo
from dockyard.problems import InvalidInput, SpecInvalid
from dockyard.secrets import Vault
from dockyard.seed import access, content, names, sshkeys, wiring
from dockyard.seed.changes import Recorder, Report
from dockyard.seed.cli import Redactor
from dockyard.seed.fingerprint import Fingerprints, digest
from dockyard.seed.gitlab import keys_of, repos_of
from dockyard.seed.harbor import robots_for
from dockyard.seed.markers import format_marker, parse_marker
from dockyard.seed.secretstore import SeedSecrets, robot_secret
from dockyard.spec.validate import build
from tests.unit.test_spec_validation import load_and_validate

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "inventories/platform/group_vars/all/dockyard.yml").read_text())


def platform(**tools: dict[str, Any]):
    spec = {**SPEC, "dockyard_tools": {**SPEC["dockyard_tools"], **tools}}
    return build(spec)


# ------------------------------------------------------------------------------------ report
def test_report_summary_json_and_completeness() -> None:
    report = Report()
    rec = Recorder("harbor", report, apply=True)
    rec.record("project", "shop", "create")
    rec.record("robot", "robot$shop+push", "noop")
    assert report.summary() == {"create": 1, "update": 0, "delete": 0, "noop": 1}
    assert report.complete and report.writes == 1
    doc = report.as_json()
    assert doc["changes"][0] == {"tool": "harbor", "kind": "project", "name": "shop", "action": "create"}
    rec.skip("not-in-spec", "robot x", "left in place")
    assert report.complete  # leftovers waiting for --prune do not make a run incomplete
    rec.skip("tool", "harbor", "not reachable")
    assert not report.complete
    assert report.summary_line() == "1 create, 0 update, 0 delete, 1 noop (changed 1); 2 skipped"


# --------------------------------------------------------------------------- markers, digests
def test_markers_round_trip_inside_free_text() -> None:
    text = f"Managed by Dockyard. {format_marker({'created': 'yes', 'digest': 'abc'})} trailing"
    assert parse_marker(text) == {"created": "yes", "digest": "abc"}
    assert parse_marker("no marker") is None and parse_marker(None) is None


def test_fingerprints_need_the_key_and_digests_ignore_key_order() -> None:
    a, b = Fingerprints("key-1"), Fingerprints("key-2")
    assert a.of("s3cret") == a.of("s3cret") != a.of("s3cret!")
    assert a.of("s3cret") != b.of("s3cret")
    assert "s3cret" not in a.of("s3cret")
    assert digest({"x": 1, "y": [1, 2]}) == digest({"y": [1, 2], "x": 1}) != digest({"x": 2, "y": [1, 2]})


def test_ssh_keys_are_ed25519_in_openssh_format() -> None:
    private = sshkeys.generate()
    assert private.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    public = sshkeys.public_key(private)
    assert public.startswith("ssh-ed25519 ")
    assert sshkeys.same_key(public + " comment", public)
    assert not sshkeys.same_key(public, sshkeys.public_key(sshkeys.generate()))


def test_robot_secrets_meet_harbors_rule() -> None:
    for _ in range(50):
        secret = robot_secret()
        assert len(secret) == 32 and secret.isalnum()
        assert (
            any(c.isupper() for c in secret) and any(c.islower() for c in secret) and any(c.isdigit() for c in secret)
        )


def test_seed_secrets_generate_once_and_never_in_a_dry_run(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "vault.yml", b"pw")
    dry = SeedSecrets(vault, apply=False)
    assert dry.ensure({"a": lambda: "1"}) == ["a"]
    assert dry.planned("a") and dry.get("a") is None and not (tmp_path / "vault.yml").exists()
    real = SeedSecrets(vault, apply=True)
    calls: list[str] = []

    def make() -> str:
        calls.append("x")
        return f"value-{len(calls)}"

    assert real.ensure({"a": make, "b": make}) == ["a", "b"]
    assert real.ensure({"a": make, "b": make}) == []
    assert calls == ["x", "x"] and vault.get("a") == "value-1"
    assert (tmp_path / "vault.yml").stat().st_mode & 0o777 == 0o600
    assert vault.get(names.FINGERPRINT_KEY)


# ------------------------------------------------------------------------------------ access
@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault(tmp_path / "vault.yml", b"pw")


def test_external_tool_takes_token_env_before_the_vault(tmp_path: Path, vault: Vault) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("pem")
    p = platform(gitlab={"mode": "external", "url": "https://git.example", "token_env": "GL_TOKEN", "ca_file": str(ca)})
    vault.set("gitlab.root_token", "from-vault")
    got = access.tool_access(p, "gitlab", vault, root=tmp_path, state_dir=tmp_path, environ={"GL_TOKEN": "from-env"})
    assert isinstance(got, access.ToolAccess)
    assert (got.url, got.credential, got.verify) == ("https://git.example", "from-env", str(ca))
    got = access.tool_access(p, "gitlab", vault, root=tmp_path, state_dir=tmp_path, environ={})
    assert isinstance(got, access.ToolAccess) and got.credential == "from-vault"
    assert "from-vault" not in repr(got)


def test_external_tool_without_ca_file_uses_the_default_trust_store(tmp_path: Path, vault: Vault) -> None:
    p = platform(harbor={"mode": "external", "url": "https://harbor.example"})
    vault.set("harbor.admin_token", "admin:pw")
    got = access.tool_access(p, "harbor", vault, root=tmp_path, state_dir=tmp_path, environ={})
    assert isinstance(got, access.ToolAccess) and got.verify is True
    assert got.basic_auth() == ("admin", "pw")


def test_a_missing_credential_or_ca_file_is_said_clearly(tmp_path: Path, vault: Vault) -> None:
    p = platform(jenkins={"mode": "external", "url": "https://ci.example", "token_env": "JT"})
    got = access.tool_access(p, "jenkins", vault, root=tmp_path, state_dir=tmp_path, environ={})
    assert isinstance(got, access.Unavailable)
    assert got.reason == "no admin credential: set environment variable JT or vault key jenkins.admin_token"
    p = platform(jenkins={"mode": "external", "url": "https://ci.example", "ca_file": "nope.crt"})
    vault.set("jenkins.admin_token", "u:t")
    with pytest.raises(InvalidInput, match=r"dockyard_tools.jenkins.ca_file: .*nope.crt: file not found"):
        access.tool_access(p, "jenkins", vault, root=tmp_path, state_dir=tmp_path, environ={})
    bad = access.ToolAccess("jenkins", "https://x", "no-colon", True)
    with pytest.raises(InvalidInput, match="expected 'user:secret'"):
        bad.basic_auth()


def test_an_installed_tool_needs_its_role_and_the_internal_ca(tmp_path: Path, vault: Vault) -> None:
    p = platform()
    vault.set("harbor.admin_token", "admin:pw")
    got = access.tool_access(p, "harbor", vault, root=tmp_path, state_dir=tmp_path / "state", environ={})
    assert isinstance(got, access.Unavailable) and "no roles/tools/harbor" in got.reason
    (tmp_path / "roles" / "tools" / "harbor").mkdir(parents=True)
    got = access.tool_access(p, "harbor", vault, root=tmp_path, state_dir=tmp_path / "state", environ={})
    assert isinstance(got, access.Unavailable) and "internal CA" in got.reason
    (tmp_path / "state" / "pki").mkdir(parents=True)
    (tmp_path / "state" / "pki" / "ca.crt").write_text("pem")
    got = access.tool_access(p, "harbor", vault, root=tmp_path, state_dir=tmp_path / "state", environ={})
    assert isinstance(got, access.ToolAccess)
    assert got.url == "https://harbor.platform.example.com" and got.verify == str(tmp_path / "state/pki/ca.crt")


# ----------------------------------------------------------------------------------- content
def test_deploy_repo_content_comes_from_the_generator() -> None:
    p = platform()
    assert content.deploy_repo_content(p, p.projects[0]) == deploy_repo.deploy_repo_files(p, p.projects[0])
    assert content.values_path("dev", "cart") == "envs/dev/cart/values.yaml"


# ------------------------------------------------------------------------------------ wiring
def test_every_secret_the_reconcilers_use_is_in_the_wiring() -> None:
    p = platform()
    keys = {s.vault_key for s in wiring.platform_secrets(p)}
    project = p.projects[0]
    assert {r.vault_key for r in robots_for(project)} <= keys
    assert {k.vault_key for k in keys_of(project)} <= keys
    assert names.webhook_token_key("shop") in keys and names.kubeconfig_key("dev") in keys
    for secret in wiring.platform_secrets(p):
        assert secret.source and secret.consumers, secret.vault_key


def test_wiring_for_one_environment_keeps_the_shared_secrets() -> None:
    keys = {s.vault_key for s in wiring.platform_secrets(platform(), "prod")}
    assert "harbor.robot.shop-pull-prod" in keys and "harbor.robot.shop-pull-dev" not in keys
    assert "argocd.prod.deploy_key.shop" in keys and "argocd.dev.deploy_key.shop" not in keys
    assert {"harbor.robot.shop-push", "gitlab.deploy-key.shop-jenkins", "gitlab.webhook-token.shop"} <= keys


def test_gitlab_layout_of_a_project() -> None:
    project = platform().projects[0]
    assert [r.path for r in repos_of(project)] == ["shop/cart", "shop/web", "shop/shop-deploy"]
    jenkins, *argocd = keys_of(project)
    assert jenkins.links == (("shop/shop-deploy", True), ("shop/cart", False), ("shop/web", False))
    assert [k.links for k in argocd] == [(("shop/shop-deploy", False),)] * 3


# --------------------------------------------------------------------------------- redaction
def test_redactor_hides_whole_secrets_and_their_lines() -> None:
    key = sshkeys.generate()
    redact = Redactor(["hunter2-long", key, "abc"])
    assert redact("token hunter2-long here") == "token [secret] here"
    line = key.splitlines()[1]
    assert line not in redact(f"oops {line}")
    assert redact("abc stays") == "abc stays"  # too short to be a secret worth hiding


# ----------------------------------------------------------------------------- spec rules
Editor = Callable[[Callable[[dict[str, Any]], None]], Path]


def test_ci_and_registry_settings_default_and_validate(edit_spec: Editor) -> None:
    tree = edit_spec(lambda spec: None)
    p = load_and_validate(tree)
    assert (p.ci.build_tag, p.ci.release_tag, p.ci.image_tag) == ("build/*", "release/*", "commit")
    assert p.build_env == p.bump_env == "dev" and p.registry.keep_last == 10

    def broken(spec: dict[str, Any]) -> None:
        spec["dockyard_ci"] = {"build_env": "qa", "build_tag": "rel/*", "release_tag": "rel/*", "image_tag": "sha"}
        spec["dockyard_registry"] = {"keep_last": 0, "retention_schedule": "0 3 * * *"}

    with pytest.raises(SpecInvalid) as err:
        load_and_validate(edit_spec(broken))
    text = "\n".join(err.value.lines())
    assert "dockyard_ci.build_env: unknown environment 'qa'" in text
    assert "dockyard_ci.release_tag: is the same pattern as build_tag" in text
    assert "dockyard_ci.image_tag: 'sha' is not allowed (use one of: commit, build-number, datetime)" in text
    assert "dockyard_registry.keep_last: 0 is below the minimum 1" in text
    assert "dockyard_registry.retention_schedule" in text and "6-field cron" in text
