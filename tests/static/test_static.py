"""Static tier: ruff, yamllint, ansible-lint (production profile, offline), playbook syntax."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    proc = run(str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format() -> None:
    proc = run(str(BIN / "ruff"), "format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_yamllint() -> None:
    proc = run(str(BIN / "yamllint"), "--strict", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_lint_production_profile() -> None:
    proc = run(str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]


def _envs() -> list[str]:
    inv = ROOT / "inventories"
    return sorted(p.name for p in inv.iterdir() if (p / "hosts.yml").is_file() and p.name not in ("platform", "local"))


@pytest.mark.parametrize("playbook", sorted(p.name for p in (ROOT / "playbooks").glob("*.yml")))
@pytest.mark.parametrize("env", _envs())
def test_playbook_syntax(playbook: str, env: str) -> None:
    proc = run(
        str(BIN / "ansible-playbook"),
        "--syntax-check",
        "-i",
        "inventories/platform",
        "-i",
        f"inventories/{env}",
        f"playbooks/{playbook}",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def role_dirs() -> list[Path]:
    """Every role: roles/<role>, or roles/<tier>/<role> for the tiers on roles_path (tools, kubernetes)."""
    return sorted(p.parent.parent for p in (ROOT / "roles").glob("**/tasks/main.yml"))


def test_every_role_has_argument_specs_and_defaults() -> None:
    roles = role_dirs()
    assert roles
    missing = [str(r.relative_to(ROOT)) for r in roles if not (r / "meta" / "argument_specs.yml").is_file()]
    assert not missing, f"roles without meta/argument_specs.yml: {missing}"
    no_defaults = [str(r.relative_to(ROOT)) for r in roles if not (r / "defaults" / "main.yml").is_file()]
    assert not no_defaults, f"roles without defaults/main.yml: {no_defaults}"


def test_role_tiers_are_on_roles_path() -> None:
    configured = next(line for line in (ROOT / "ansible.cfg").read_text().splitlines() if line.startswith("roles_path"))
    tiers = {f"./roles/{r.parent.name}" for r in role_dirs() if r.parent.name != "roles"}
    assert tiers <= set(configured.split("=", 1)[1].strip().split(":")), configured
