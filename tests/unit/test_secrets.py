"""The vault: encrypted at rest, 0600, read back by Ansible itself, never in plain text on disk."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dockyard import inventory, secrets
from dockyard.problems import InvalidInput


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(secrets.PASSWORD_ENV, raising=False)
    return tmp_path / "state"


def test_password_file_is_created_private(state: Path) -> None:
    path = secrets.password_file(state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) >= 32
    assert secrets.password_file(state) == path  # reused, not regenerated


def test_vault_round_trip_is_encrypted_and_private(sample_tree: Path, state: Path) -> None:
    tree = inventory.InventoryTree(sample_tree)
    vault = secrets.Vault.open(tree, "dev", state)
    value, created = vault.get_or_create("argocd.dev.admin_password", secrets.random_password)
    assert created
    assert vault.set("harbor.robot.shop-push", "s3cr3t-value") is True
    assert vault.set("harbor.robot.shop-push", "s3cr3t-value") is False
    path = sample_tree / "platform" / "group_vars" / "all" / "vault.yml"
    raw = path.read_bytes()
    assert raw.startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    assert b"s3cr3t-value" not in raw and value.encode() not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = secrets.Vault.open(tree, "dev", state)
    assert again.get("harbor.robot.shop-push") == "s3cr3t-value"
    assert again.get_or_create("argocd.dev.admin_password", secrets.random_password) == (value, False)


def test_ansible_reads_the_vault(sample_tree: Path, state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.use_password_file(state)
    tree = inventory.InventoryTree(sample_tree)
    secrets.Vault.open(tree, "dev", state).set("gitlab.root_token", "glpat-abc")
    loaded = inventory.load(tree, "dev")
    assert loaded.spec["dockyard_secrets"] == {"gitlab.root_token": "glpat-abc"}


def test_wrong_password_is_a_clear_error(
    sample_tree: Path, state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = inventory.InventoryTree(sample_tree)
    secrets.Vault.open(tree, "dev", state).set("k", "v")
    other = tmp_path / "other-pass"
    other.write_text("not-the-password\n")
    monkeypatch.setenv(secrets.PASSWORD_ENV, str(other))
    with pytest.raises(InvalidInput) as caught:
        secrets.Vault.open(tree, "dev", state)
    assert "vault.yml: (file): cannot decrypt" in str(caught.value)
