"""The invoke tasks as an operator runs them: exit codes and messages, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import invoke

ROOT = Path(__file__).resolve().parents[2]


def test_list_shows_the_interface() -> None:
    proc = invoke("--list")
    assert proc.returncode == 0
    for name in ("validate", "preflight", "bootstrap", "plan", "seed"):
        assert f"  {name} " in proc.stdout


def test_validate_ok_is_one_line(sample_tree: Path) -> None:
    proc = invoke("validate", "--env", "dev", "--inventories", str(sample_tree))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("validate OK: env dev")
    assert len(proc.stdout.strip().splitlines()) == 1


@pytest.mark.parametrize("task", ["validate", "preflight", "bootstrap", "plan", "seed"])
def test_unknown_env_exits_2_listing_envs(task: str, sample_tree: Path) -> None:
    proc = invoke(task, "--env", "qa", "--inventories", str(sample_tree))
    assert proc.returncode == 2
    assert "unknown environment 'qa'" in proc.stderr
    assert "dev, prod, stage" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_missing_inventory_tree_exits_2(tmp_path: Path) -> None:
    proc = invoke("validate", "--env", "dev", "--inventories", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "nowhere: inventory tree not found" in proc.stderr


@pytest.mark.parametrize("task", ["validate", "bootstrap", "plan", "seed"])
def test_broken_spec_exits_2_with_file_and_key(task: str, edit_spec: Callable[..., Path]) -> None:
    def broken(spec: dict[str, Any]) -> None:
        spec["dockyard_projects"][0]["services"][0]["port"] = "http"
        spec["dockyard_argocd_layout"] = "mesh"

    tree = edit_spec(broken)
    proc = invoke(task, "--env", "dev", "--inventories", str(tree))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "validate FAILED: 2 problem(s)" in proc.stderr
    assert f"{tree}/platform/group_vars/all/dockyard.yml:" in proc.stderr
    assert ": dockyard_projects[0].services[0].port: " in proc.stderr
    assert ": dockyard_argocd_layout: " in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "PLAY" not in proc.stdout  # nothing ran


def test_inventories_option_selects_another_tree(sample_tree: Path) -> None:
    (sample_tree / "qa").mkdir()
    (sample_tree / "qa" / "hosts.yml").write_text(
        "---\nall:\n  children:\n    kube_control_plane:\n"
        "      hosts:\n        qa-cp-1:\n          ansible_host: 192.0.2.99\n"
    )
    proc = invoke("validate", "--env", "qa", "--inventories", str(sample_tree))
    assert proc.returncode == 2
    assert "dockyard_environments: has no entry for environment 'qa'" in proc.stderr
    spec = sample_tree / "platform" / "group_vars" / "all" / "dockyard.yml"
    spec.write_text(spec.read_text().replace("  prod:\n", "  qa:\n    sync: auto\n  prod:\n", 1))
    proc = invoke("validate", "--env", "qa", "--inventories", str(sample_tree))
    assert proc.returncode == 0, proc.stderr
    assert "validate OK: env qa: 4 host(s)" in proc.stdout


def test_local_env_before_hosts_up_says_how_to_get_it(sample_tree: Path) -> None:
    proc = invoke("validate", "--env", "local", "--inventories", str(sample_tree))
    assert proc.returncode == 2
    assert "invoke hosts up" in proc.stderr


def test_seed_dry_run_on_the_samples_says_why_each_tool_is_skipped(sample_tree: Path) -> None:
    proc = invoke("seed", "--env", "dev", "--dry-run", "--inventories", str(sample_tree))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("seed env dev: dry run, nothing is changed")
    for tool in ("gitlab", "harbor", "jenkins"):
        if (ROOT / "roles" / "tools" / tool).is_dir():  # installable: skipped for want of its credential/CA
            assert f"skip    {tool}: " in proc.stdout
        else:
            assert f"{tool}: mode install, but this version of Dockyard has no roles/tools/{tool}" in proc.stdout
    assert "wiring (vault key" in proc.stdout and "harbor.robot.shop-push: Harbor robot secret" in proc.stdout
    assert "seed INCOMPLETE: 0 create, 0 update, 0 delete, 0 noop (would change 0); 3 skipped" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_seed_json_is_one_document_even_when_tools_are_skipped(sample_tree: Path) -> None:
    proc = invoke("seed", "--env", "prod", "--dry-run", "--json", "--inventories", str(sample_tree))
    doc = json.loads(proc.stdout)
    assert doc["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 0}
    assert [s["name"] for s in doc["skipped"]] == ["harbor", "gitlab", "jenkins"]
    assert any(w["vault_key"] == "harbor.robot.shop-pull-prod" for w in doc["wiring"])
