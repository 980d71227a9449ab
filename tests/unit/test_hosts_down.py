"""`invoke hosts down` removes the lab's inventory but keeps its vault, and says so."""

from __future__ import annotations

from pathlib import Path

from dockyard.localhosts import hosts


def test_inventory_removed_but_the_vault_kept(tmp_path: Path) -> None:
    inv = tmp_path / "local"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all: {}\n")
    (inv / "group_vars" / "all" / "zz-local.yml").write_text("dockyard_env: local\n")
    vault = inv / "group_vars" / "all" / "vault.yml"
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n00\n")
    assert hosts._remove_inventory(inv) == vault
    assert sorted(p.name for p in inv.rglob("*")) == ["all", "group_vars", "vault.yml"]
    vault.unlink()
    assert hosts._remove_inventory(inv) is None
    assert not inv.exists() or not any(inv.rglob("*"))
