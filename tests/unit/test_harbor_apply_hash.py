"""What makes the harbor role rerun ./install.sh: the hash of harbor.yml, the certificate and key
and the version, computed by the role for real (ansible-playbook, connection local, the role's
vars). The admin password is not in it: Harbor reads harbor_admin_password on the first install
only, and a new value in the vault is rotated through the API instead (tasks/ready.yml)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests import local_play

ROOT = local_play.ROOT
SPEC = local_play.SPEC


def apply_hash(tmp_path: Path, secrets: dict[str, str], cert: str = "CERT") -> str:
    play = [
        {
            "name": "The harbor role's apply hash",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {
                "dockyard_secrets": secrets,
                "harbor_root": str(tmp_path / "opt-harbor"),  # nothing installed: preflight only reads it
                "dockyard_state_dir": str(tmp_path / "state"),
            },
            "tasks": [
                {"name": "Role vars", "ansible.builtin.include_role": {"name": "harbor", "tasks_from": "preflight",
                                                                       "public": True}},
                {"name": "Show it", "ansible.builtin.debug": {"msg": "HASH={{ harbor_apply_hash | trim }}"}},
            ],
        }
    ]  # fmt: skip
    certs = tmp_path / "state" / "pki" / "certs"  # the internal CA's files for harbor.<domain>
    certs.mkdir(parents=True, exist_ok=True)
    domain = yaml.safe_load(SPEC.read_text())["dockyard_domain"]
    (certs / f"harbor.{domain}.crt").write_text(cert)
    (certs / f"harbor.{domain}.key").write_text("KEY")
    path = tmp_path / "play.yml"
    # The debug task runs outside the role, so its template lookup searches beside the play.
    (tmp_path / "templates").mkdir(exist_ok=True)
    link = tmp_path / "templates" / "harbor.yml.j2"
    if not link.exists():
        link.symlink_to(ROOT / "roles" / "tools" / "harbor" / "templates" / "harbor.yml.j2")
    proc = local_play.run(play, path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split("HASH=", 1)[1].split()[0].strip("\"'")


def test_a_new_admin_password_never_reinstalls_but_other_changes_do(tmp_path: Path) -> None:
    base = {"harbor.admin_password": "First-Pw-123", "harbor.database_password": "Db-Pw-123"}
    first = apply_hash(tmp_path, base)
    assert apply_hash(tmp_path, {**base, "harbor.admin_password": "Second-Pw-456"}) == first
    assert apply_hash(tmp_path, {**base, "harbor.database_password": "Db-Pw-456"}) != first
    assert apply_hash(tmp_path, base, cert="OTHER CERT") != first
