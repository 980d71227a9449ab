"""Helpers shared by the GitOps tests: render a sample tree into a directory, read it back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from dockyard.gitops import cli as gitops_cli

ROOT = Path(__file__).resolve().parents[1]
HELM = str(Path(sys.executable).parent / "helm")
ARGO_CD_CHART = ROOT / "tests" / "reference" / "argo-cd-chart" / "argo-cd"


def render(root: Path, tree: Path, out: Path, env: str = "all") -> None:
    rc = gitops_cli.render(root, str(tree), env, str(out))
    assert rc == 0


def objects(out: Path, env: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((out / env / "argocd").glob("*.yaml"))]


def of_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def helm_template(chart: Path, release: str, namespace: str, *values: Path, sets: tuple[str, ...] = ()) -> list[dict]:
    cmd = [HELM, "template", release, str(chart), "--namespace", namespace]
    for v in values:
        cmd += ["-f", str(v)]
    for s in sets:
        cmd += ["--set-string", s]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def tree_bytes(base: Path) -> dict[str, bytes]:
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def deploy_remote(tmp_path: Path, platform: Any, dev_tag: str = "sha-1f2e3d4") -> Path:
    """A bare deploy repository as seed leaves it: the generated files on ``main`` with dev's cart at
    ``dev_tag``, and for each manual-sync environment its branch ``env/<env>`` made from ``main``."""
    from dockyard.gitops import deploy_repo  # noqa: PLC0415

    bare = tmp_path / "shop-deploy.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    work = tmp_path / "seed"
    git("clone", "--quiet", str(bare), str(work))
    for rel, content in deploy_repo.deploy_repo_files(platform, platform.projects[0]).items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(content)
    dev = work / deploy_repo.values_path("dev", "cart")
    dev.write_bytes(deploy_repo.with_image_tag(dev.read_bytes(), "x", dev_tag))
    git("add", "-A", cwd=work)
    git("-c", "user.name=seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", "seed", cwd=work)
    branches = [f"HEAD:refs/heads/{e.deploy_branch}" for e in platform.environments.values() if not e.automated]
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", *branches, cwd=work)
    return bare
