"""The closing summary of `invoke bootstrap`: fed by the dockyard_phases callback (run here by a
real ansible-playbook on localhost) and by seed; honest exit codes, --allow-partial."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard import cli, phases, playbook, summary
from dockyard.spec.model import Tool

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def test_phases_come_from_bootstrap_yml() -> None:
    names = [p.name for p in phases.phases(ROOT)]
    text = (ROOT / "playbooks" / "bootstrap.yml").read_text()
    assert names and all(f"import_playbook: {n}.yml" in text for n in names)
    assert names[0] == "common"


def test_phases_of_a_new_playbook_are_picked_up(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "bootstrap.yml").write_text(
        "- ansible.builtin.import_playbook: common.yml\n- ansible.builtin.import_playbook: tools.yml\n"
    )
    (tmp_path / "playbooks" / "common.yml").write_text("- hosts: all\n  tags: [common]\n  tasks: []\n")
    (tmp_path / "playbooks" / "tools.yml").write_text(
        "- hosts: gitlab\n  tags: [tools, gitlab]\n  tasks: []\n"
        "- hosts: harbor\n  roles: [{role: harbor, tags: [harbor]}]\n"
    )
    assert [p.name for p in phases.phases(tmp_path)] == ["common", "tools"]
    assert phases.check_tags(tmp_path, "tools,harbor,gitlab") == ["tools", "harbor", "gitlab"]


def test_callback_records_phase_times_and_skipped_parts(tmp_path: Path) -> None:
    books = tmp_path / "playbooks"
    books.mkdir()
    (books / "bootstrap.yml").write_text(
        "- ansible.builtin.import_playbook: alpha.yml\n- ansible.builtin.import_playbook: beta.yml\n"
    )
    (books / "alpha.yml").write_text(
        "- name: Alpha\n  hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - name: Report a part not done\n      ansible.builtin.set_stats:\n        data:\n"
        "          dockyard_skipped:\n            - {phase: alpha, part: thing, reason: no kubeconfig}\n"
    )
    (books / "beta.yml").write_text("- name: Beta\n  hosts: nothing_here\n  gather_facts: false\n  tasks: []\n")
    report = tmp_path / "report.json"
    env = playbook.ansible_env(ROOT, {summary.REPORT_ENV: str(report), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", str(books / "bootstrap.yml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs, skipped = summary.read_phase_report(report)
    assert [(r.name, r.hosts) for r in runs] == [("alpha", 1), ("beta", 0)]
    assert all(r.seconds >= 0 for r in runs)
    assert skipped == [summary.Skipped("alpha", "thing", "no kubeconfig")]
    assert json.loads(report.read_text())["skipped"][0]["reason"] == "no kubeconfig"


def test_summary_lines_never_hold_values_and_say_what_was_not_done() -> None:
    s = summary.Summary("dev")
    s.phases = [summary.PhaseRun("common", 12.5, 3), summary.PhaseRun("mirror", 0.2, 0)]
    s.credentials = [("gitlab.root_token", "inventories/platform/group_vars/all/vault.yml")]
    s.skip("argocd", "Argo CD of dev", "no kubeconfig")
    text = "\n".join(s.lines(allow_partial=False))
    assert "gitlab.root_token  in inventories/platform/group_vars/all/vault.yml" in text
    assert "mirror" in text and "nothing to do" in text
    assert "argocd: Argo CD of dev: no kubeconfig" in text
    assert "bootstrap INCOMPLETE: 1 part(s) not done" in text
    assert s.exit_code(allow_partial=False) == 1 and s.exit_code(allow_partial=True) == 0
    assert "PARTIAL (allowed by --allow-partial)" in "\n".join(s.lines(allow_partial=True))
    done = summary.Summary("dev")
    assert done.exit_code(False) == 0 and "bootstrap COMPLETE: env dev" in done.lines(False)[-1]


def test_a_staged_bootstrap_lists_each_phase_once_with_its_times_added() -> None:
    s = summary.Summary("local")
    # Stage 1 (up to the mirror, before the bundle load): the later phases report no hosts.
    s.add_phases([summary.PhaseRun("common", 10.0, 6), summary.PhaseRun("mirror", 9.0, 1),
                  summary.PhaseRun("tools", 0.0, 0), summary.PhaseRun("cni", 0.0, 0)])  # fmt: skip
    s.add_phases([summary.PhaseRun("common", 0.5, 0), summary.PhaseRun("mirror", 0.5, 0),
                  summary.PhaseRun("tools", 25.0, 3), summary.PhaseRun("cni", 0.0, 0)])  # fmt: skip
    assert s.phases == [summary.PhaseRun("common", 10.5, 6), summary.PhaseRun("mirror", 9.5, 1),
                        summary.PhaseRun("tools", 25.0, 3), summary.PhaseRun("cni", 0.0, 0)]  # fmt: skip
    lines = [line for line in s.lines(allow_partial=True) if "nothing to do" in line]
    assert [line.split()[0] for line in lines] == ["cni"]


def test_install_mode_without_an_install_phase_is_not_done(tmp_path: Path) -> None:
    from dockyard.spec.validate import build  # noqa: PLC0415

    platform = build(
        {
            "dockyard_domain": "example.com",
            "dockyard_airgap": False,
            "dockyard_argocd_layout": "one-to-one",
            "dockyard_environments": {"dev": {"sync": "auto"}},
            "dockyard_projects": [],
            "dockyard_tools": {"gitlab": {"mode": "install"}, "harbor": {"mode": "external", "url": "https://h.x"}},
        }
    )
    assert isinstance(platform.tools["gitlab"], Tool)
    parts = summary.unplanned_parts(platform, ["common", "internal_ca"])
    assert [p.part for p in parts] == ["gitlab"]
    assert summary.unplanned_parts(platform, ["common", "tools"]) == []
    (tmp_path / "roles" / "tools" / "gitlab").mkdir(parents=True)
    assert summary.unplanned_parts(platform, ["common", "tools"], tmp_path) == []
    (tmp_path / "roles" / "tools" / "gitlab").rmdir()
    assert "no role roles/tools/gitlab" in summary.unplanned_parts(platform, ["tools"], tmp_path)[0].reason


def _fake_run(report: dict[str, object]) -> Callable[..., int]:
    def run(cmd: list[str], root: Path, extra_env: dict[str, str] | None = None) -> int:
        Path((extra_env or {})[summary.REPORT_ENV]).write_text(json.dumps(report))
        return 0

    return run


@pytest.mark.parametrize("allow_partial", [False, True])
def test_bootstrap_is_honest_about_what_it_did_not_do(
    operator_root: Path,
    sample_tree: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    allow_partial: bool,
) -> None:
    """ansible-playbook replaced by a recorded phase report (the hosts are documentation addresses);
    seed runs for real and finds no tool it can reach."""
    root, tree = operator_root, sample_tree
    report = {
        "phases": [{"phase": "common", "seconds": 3.0, "hosts": 6}, {"phase": "argocd", "seconds": 0.5, "hosts": 1}],
        "skipped": [{"phase": "argocd", "part": "Argo CD of dev", "reason": "no kubeconfig for dev"}],
    }
    monkeypatch.setattr(playbook, "run", _fake_run(report))
    rc = cli.bootstrap(root, str(tree), "dev", skip_preflight=True, allow_partial=allow_partial)
    out = capsys.readouterr().out
    assert rc == (0 if allow_partial else 1), out
    assert "summary of bootstrap for env dev:" in out
    assert "gitlab: https://gitlab.platform.example.com" in out
    assert "argocd (dev): https://argocd.dev.platform.example.com" in out
    assert "kubernetes:" in out or "containerd:" in out  # versions from the catalogue
    assert "argocd: Argo CD of dev: no kubeconfig for dev" in out
    assert "tools: gitlab: mode install, but the tools phase has no role roles/tools/gitlab" in out
    assert "seed: gitlab" in out  # and seed's own skips
    assert re.search(r"\n    common +3\.0s\n    argocd +0\.5s\n    seed +[0-9.]+s\n", out), out
    assert ("PARTIAL" if allow_partial else "INCOMPLETE") in out
