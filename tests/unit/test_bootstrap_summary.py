"""The closing summary of `invoke bootstrap`: fed by the dockyard_phases callback (run here by a
real ansible-playbook on localhost) and by seed; honest exit codes, --allow-partial."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard import cli, phases, playbook, summary
from dockyard.spec.model import Tool
from tests.conftest import SpecEditor

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
        + "".join(
            f"    - name: Ask to run again after seed\n      ansible.builtin.set_stats:\n        data:\n"
            f"          dockyard_after_seed: [{{phase: alpha, objects: '{objects}'}}]\n        aggregate: true\n"
            for objects in ("{{ 1 + 1 }}", "1")  # two applies of one phase: their objects add up
        )
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
    read = summary.read_phase_report(report)
    assert [(r.name, r.hosts) for r in read.runs] == [("alpha", 1), ("beta", 0)]
    assert all(r.seconds >= 0 for r in read.runs)
    assert read.skipped == [summary.Skipped("alpha", "thing", "no kubeconfig")]
    assert read.after_seed == {"alpha": 3}
    assert json.loads(report.read_text())["skipped"][0]["reason"] == "no kubeconfig"


def test_phase_report_reads_the_phases_asked_to_run_again_after_seed(tmp_path: Path) -> None:
    report = tmp_path / "phases.json"
    assert summary.read_phase_report(report) == summary.PhaseReport()  # no file: nothing asked
    report.write_text(
        json.dumps(
            {
                "phases": [{"phase": "argocd", "seconds": 1.0, "hosts": 1}],
                "after_seed": [
                    {"phase": "argocd", "objects": "2"},
                    {"phase": "argocd", "objects": "3"},
                    {"phase": "other", "objects": "not a number"},
                    {"objects": "4"},
                    "argocd",
                ],
            }
        )
    )
    assert summary.read_phase_report(report).after_seed == {"argocd": 5, "other": 0}
    report.write_text(json.dumps({"phases": []}))  # a report of an older callback, or nothing asked
    assert summary.read_phase_report(report).after_seed == {}


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


def _recording_run(calls: list[list[str]], first: dict[str, object], again_rc: int = 0) -> Callable[..., int]:
    """ansible-playbook replaced: the bootstrap's run reports ``first``; a later run (the apply after seed)
    reports argocd's time again and exits ``again_rc``."""

    def run(cmd: list[str], root: Path, extra_env: dict[str, str] | None = None) -> int:
        again = bool(calls)
        calls.append(list(cmd))
        report = {"phases": [{"phase": "argocd", "seconds": 1.0, "hosts": 1}]} if again else first
        Path((extra_env or {})[summary.REPORT_ENV]).write_text(json.dumps(report))
        return again_rc if again else 0

    return run


WAITING = {
    "phases": [{"phase": "common", "seconds": 3.0, "hosts": 6}, {"phase": "argocd", "seconds": 0.5, "hosts": 1}],
    "after_seed": [{"phase": "argocd", "objects": "2"}],
}


@dataclass(frozen=True)
class AfterSeed:
    first: dict[str, object]  # what the bootstrap's playbook run reports
    seed_rc: int = 0
    check: bool = False
    tags: str | None = None
    runs_again: bool = False


@pytest.mark.parametrize(
    "case",
    [
        AfterSeed(WAITING, runs_again=True),  # a site's first bootstrap
        AfterSeed(WAITING, seed_rc=1),  # seed failed: the credentials may still be missing
        AfterSeed({**WAITING, "after_seed": []}),  # a rerun on an installed site: nothing extra
        AfterSeed(WAITING, check=True),  # check mode: no seed, no second apply
        AfterSeed(WAITING, tags="argocd"),  # --tags without seed
    ],
    ids=["first-bootstrap", "seed-failed", "nothing-asked", "check", "tags-without-seed"],
)
def test_bootstrap_applies_again_after_seed_only_when_asked_and_seed_succeeded(
    operator_root: Path,
    edit_spec: SpecEditor,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: AfterSeed,
) -> None:
    from dockyard.seed import cli as seed_cli  # noqa: PLC0415

    tree = edit_spec(lambda spec: spec.update(dockyard_skip_phases={"cni": "the lab has a CNI"}))
    calls: list[list[str]] = []
    monkeypatch.setattr(playbook, "run", _recording_run(calls, case.first))
    monkeypatch.setattr(seed_cli, "seed_after_bootstrap", lambda *_a, **_k: case.seed_rc)
    rc = cli.bootstrap(
        operator_root,
        str(tree),
        "dev",
        check=case.check,
        tags=case.tags,
        limit="*",
        skip_preflight=True,
        allow_partial=True,
    )
    out = capsys.readouterr().out
    assert rc == case.seed_rc, out
    assert len(calls) == (2 if case.runs_again else 1), calls
    said = "argocd: applying again after seed: 2 object(s) waited on seed's credentials" in out
    assert said == case.runs_again, out
    if case.runs_again:
        at = calls[1].index("--tags")
        assert calls[1][at : at + 2] == ["--tags", "argocd"]
        assert calls[1][:at] + calls[1][at + 2 :] == calls[0]  # same skipped phases, limit and vault file
        assert "--skip-tags" in calls[0] and "--limit" in calls[0] and "dockyard_vault_file" in " ".join(calls[0])
        assert re.search(r"\n    argocd +1\.5s\n", out), out  # both applies' time, listed once


def test_bootstrap_fails_when_the_apply_after_seed_fails(
    operator_root: Path, sample_tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dockyard.seed import cli as seed_cli  # noqa: PLC0415

    calls: list[list[str]] = []
    monkeypatch.setattr(playbook, "run", _recording_run(calls, WAITING, again_rc=2))
    monkeypatch.setattr(seed_cli, "seed_after_bootstrap", lambda *_a, **_k: 0)
    rc = cli.bootstrap(operator_root, str(sample_tree), "dev", skip_preflight=True, allow_partial=True)
    captured = capsys.readouterr()
    assert rc == 2 and len(calls) == 2
    assert "bootstrap FAILED: ansible-playbook exited 2 (argocd applied again after seed)" in captured.err
    assert "bootstrap COMPLETE" not in captured.out and "PARTIAL" not in captured.out
