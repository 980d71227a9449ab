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
