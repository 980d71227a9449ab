"""The argocd phase as Ansible runs it (playbooks/argocd.yml, the argocd role and its module): skipped and
saying why without a cluster; against the Kubernetes API TEST DOUBLE, applied once, then changed=0."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dockyard import secrets
from tests.fakes.kube_api import KubeAPI

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def playbook(
    tree: Path, env: str, name: str, extra: dict[str, Any], state: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        secrets.PASSWORD_ENV: str(secrets.password_file(state)),
        "ANSIBLE_NOCOLOR": "1",
    }
    cmd = [
        PLAYBOOK,
        "-i",
        str(tree / "platform"),
        "-i",
        str(tree / env),
        str(ROOT / "playbooks" / name),
        "-e",
        json.dumps({"dockyard_state_dir": str(state), **extra}),
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True, check=False, timeout=300)


def flat(text: str) -> str:
    """Output with the YAML callback's line folding undone."""
    return " ".join(text.split())


def recap(stdout: str) -> dict[str, int]:
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", stdout)
    assert match, stdout
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(secrets.PASSWORD_ENV, raising=False)
    return tmp_path / "state"


def test_bootstrap_argocd_phase_is_skipped_visibly_without_a_cluster(sample_tree: Path, state: Path) -> None:
    for _ in range(2):  # and a rerun is just as quiet
        proc = playbook(sample_tree, "dev", "bootstrap.yml", {}, state, "--tags", "argocd")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert (
            f"argocd: SKIPPED for env dev: no kubeconfig at {state}/kubeconfig/dev.yaml (the kubeadm phase writes it)"
            in proc.stdout.replace("\n        ", " ")
        )
        # the argument checks of the argocd and traefik roles (tagged always: the ingress phase also runs
        # on the controller), the module, the skip message, and the skip reported to the summary (set_stats)
        assert recap(proc.stdout) == {"ok": 5, "changed": 0, "unreachable": 0, "failed": 0}


def test_unreachable_api_is_skipped_with_the_reason(sample_tree: Path, state: Path, tmp_path: Path) -> None:
    with KubeAPI() as api:
        config = api.kubeconfig(tmp_path / "gone.yaml")
        url = api.url
    proc = playbook(
        sample_tree, "prod", "argocd.yml", {"dockyard_kubeconfig": str(config), "argocd_api_timeout_s": 1}, state
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"argocd: SKIPPED for env prod: the API server {url} does not answer" in proc.stdout.replace(
        "\n        ", " "
    )
    assert recap(proc.stdout)["changed"] == 0


def test_applies_once_then_reports_no_change(sample_tree: Path, state: Path, tmp_path: Path) -> None:
    with KubeAPI() as api:
        api.create_namespace("argocd")
        extra = {"dockyard_kubeconfig": str(api.kubeconfig(tmp_path / "dev.yaml")), "argocd_install_chart": False}
        check = playbook(sample_tree, "dev", "argocd.yml", extra, state, "--check", "--diff")
        assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
        assert "objects would be: 6 created, 0 updated, 0 deleted, 0 unchanged, 3 kept as they are" in flat(
            check.stdout
        )
        assert "+  name: shop-cart" in check.stdout  # the diff of what would be created
        assert not api.mutating_requests()
        first = playbook(sample_tree, "dev", "argocd.yml", extra, state)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        assert recap(first.stdout)["changed"] == 1
        assert "6 created, 0 updated, 0 deleted, 0 unchanged, 3 kept as they are" in flat(first.stdout)
        # deploy keys are the GitLab seeder's to store: until then the repository Secrets wait, visibly
        assert "repo-shop-deploy: sshPrivateKey from vault:argocd.dev.deploy_key.shop: not in the vault yet" in flat(
            first.stderr
        )
        assert set(api.objects("applications", "argocd")) == {"shop-cart", "shop-web", "dockyard-root"}
        second = playbook(sample_tree, "dev", "argocd.yml", extra, state)
        assert second.returncode == 0
        assert recap(second.stdout)["changed"] == 0
        assert "0 created, 0 updated, 0 deleted, 6 unchanged, 3 kept as they are" in flat(second.stdout)
        # and the workload side: namespaces, build accounts (the pull Secret waits for seed's robot)
        assert "namespaces, pull secrets, build accounts 0 created" in flat(second.stdout)


def test_invoke_bootstrap_says_argocd_was_skipped_and_fails_unless_partial_is_allowed(
    sample_tree: Path, tmp_path: Path
) -> None:
    """`invoke bootstrap` on a machine without a cluster: the argocd phase is visibly skipped and the
    closing summary says so; the run fails (1) unless --allow-partial (then 0, saying so)."""
    missing = tmp_path / "no-such" / "dev.yaml"
    env_vars = sample_tree / "dev" / "group_vars" / "all" / "env.yml"
    env_vars.write_text(env_vars.read_text() + f"dockyard_kubeconfig: {missing}\n")
    invoke = str(Path(sys.executable).parent / "invoke")
    environ = {k: v for k, v in os.environ.items() if k not in ("ANSIBLE_CONFIG", secrets.PASSWORD_ENV)}
    cmd = [
        invoke,
        "-r",
        str(ROOT),
        "bootstrap",
        "--env",
        "dev",
        "--inventories",
        str(sample_tree),
        "--skip-preflight",
        "--tags",
        "argocd",
    ]
    for extra, code, verdict in (([], 1, "bootstrap INCOMPLETE: 1 part(s)"), (["--allow-partial"], 0, "PARTIAL")):
        proc = subprocess.run(cmd + extra, env=environ, capture_output=True, text=True, check=False, timeout=300)
        assert proc.returncode == code, proc.stdout[-3000:] + proc.stderr[-3000:]
        reason = f"argocd: SKIPPED for env dev: no kubeconfig at {missing} (the kubeadm phase writes it)"
        assert reason in flat(proc.stdout)
        assert f"    argocd: Argo CD of dev: {reason}" in proc.stdout  # in the closing summary
        assert re.search(r"\n    argocd +[0-9.]+s\n", proc.stdout), proc.stdout[-2000:]
        assert verdict in proc.stdout
        assert recap(proc.stdout)["changed"] == 0


def test_check_mode_on_a_new_cluster_says_what_would_be_created(sample_tree: Path, state: Path, tmp_path: Path) -> None:
    with KubeAPI(crds_installed=False) as api:
        extra = {"dockyard_kubeconfig": str(api.kubeconfig(tmp_path / "dev.yaml")), "argocd_install_chart": False}
        proc = playbook(sample_tree, "dev", "argocd.yml", extra, state, "--check")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "objects would be: 9 created (once the chart has created namespace argocd)" in flat(proc.stdout)
        assert not api.mutating_requests()
