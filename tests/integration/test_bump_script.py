"""The Jenkinsfile's Bump stage, run for real: its shell script against a local bare git repository,
including the retry when someone else pushed to the deploy repo first (non-fast-forward)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dockyard.seed import service_template

ROOT = Path(__file__).resolve().parents[2]
VALUES = "envs/dev/cart/values.yaml"

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("awk") is None, reason="needs git and awk")


def bump_script() -> str:
    text = service_template.pipeline_script()
    bump = text[text.index("stage('Bump')") :]
    script = re.search(r"sh '''\n(.*?)'''", bump, re.DOTALL)
    assert script, "the Bump stage has no sh ''' block"
    # Groovy turns \t in a ''' string into a tab; awk reads both the same. Nothing else is escaped.
    return script.group(1)


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def deploy_repo(tmp_path: Path) -> Path:
    remote = tmp_path / "deploy.git"
    git("init", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    work = tmp_path / "seed"
    git("clone", str(remote), str(work), cwd=tmp_path)
    (work / VALUES).parent.mkdir(parents=True)
    (work / VALUES).write_text(
        'replicas: 1\nimage:\n  repository: harbor/shop/cart\n  tag: "old"\nservice:\n  tag: keep\n'
    )
    (work / "envs/dev/web").mkdir(parents=True)
    (work / "envs/dev/web/values.yaml").write_text('image:\n  tag: "w1"\n')
    git("add", "-A", cwd=work)
    git("commit", "-m", "init", cwd=work)
    git("push", "origin", "HEAD:main", cwd=work)
    return remote


def run_bump(remote: Path, tmp_path: Path, wrapper_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DEPLOY_KEY": str(tmp_path / "unused-key"),
        "DEPLOY_REPO": str(remote),
        "DEPLOY_BRANCH": "main",
        "VALUES_FILE": VALUES,
        "IMAGE_TAG": "a1b2c3d4",
        "SERVICE": "cart",
        "BUMP_ENV": "dev",
        "GIT_TAG": "release/1.0",
        "BUILD_NUMBER": "7",
        "GITLAB_KNOWN_HOSTS": "gitlab.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests",
    }
    if wrapper_dir:
        env["PATH"] = f"{wrapper_dir}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["sh", "-c", bump_script()], cwd=workspace, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_bump_sets_image_tag_and_nothing_else(deploy_repo: Path, tmp_path: Path) -> None:
    result = run_bump(deploy_repo, tmp_path)
    assert result.returncode == 0, result.stderr
    check = tmp_path / "check"
    git("clone", str(deploy_repo), str(check), cwd=tmp_path)
    values = yaml.safe_load((check / VALUES).read_text())
    assert values == {
        "replicas": 1,
        "image": {"repository": "harbor/shop/cart", "tag": "a1b2c3d4"},
        "service": {"tag": "keep"},
    }
    assert (
        git("log", "-1", "--format=%s", cwd=check).strip()
        == "cart: image.tag a1b2c3d4 in dev (tag release/1.0, build 7)"
    )
    again = run_bump(deploy_repo, tmp_path)  # same tag again: nothing to commit
    assert again.returncode == 0 and "already a1b2c3d4" in again.stdout


def test_bump_retries_when_the_push_is_rejected_as_non_fast_forward(deploy_repo: Path, tmp_path: Path) -> None:
    # A git on PATH that lets another writer push to the deploy repo just before our first push.
    real_git = shutil.which("git")
    racer = tmp_path / "racer"
    git("clone", str(deploy_repo), str(racer), cwd=tmp_path)
    wrapper = tmp_path / "bin"
    wrapper.mkdir()
    marker = tmp_path / "raced"
    other_writer = (
        f'cd {racer} && echo "tag: w2" > envs/dev/web/values.yaml'
        f' && {real_git} -c user.name=r -c user.email=r@r commit -qam "web bump"'
        f" && {real_git} push -q origin HEAD:main"
    )
    (wrapper / "git").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = push ] && [ ! -e {marker} ]; then\n'
        f"  touch {marker}\n"
        f"  ({other_writer})\n"
        "fi\n"
        f'exec {real_git} "$@"\n'
    )
    (wrapper / "git").chmod(0o755)
    result = run_bump(deploy_repo, tmp_path, wrapper)
    assert result.returncode == 0, result.stderr
    assert marker.exists()
    assert "rejected" in result.stderr  # the first push lost the race
    check = tmp_path / "check"
    git("clone", str(deploy_repo), str(check), cwd=tmp_path)
    assert yaml.safe_load((check / VALUES).read_text())["image"]["tag"] == "a1b2c3d4"
    assert (check / "envs/dev/web/values.yaml").read_text() == "tag: w2\n"  # the other writer's commit is kept
    subjects = git("log", "--format=%s", cwd=check).splitlines()
    assert subjects[:2] == ["cart: image.tag a1b2c3d4 in dev (tag release/1.0, build 7)", "web bump"]


def test_bump_fails_when_the_values_file_has_no_image_tag(deploy_repo: Path, tmp_path: Path) -> None:
    work = tmp_path / "edit"
    git("clone", str(deploy_repo), str(work), cwd=tmp_path)
    (work / VALUES).write_text("replicas: 1\n")
    git("commit", "-qam", "no tag", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    result = run_bump(deploy_repo, tmp_path)
    assert result.returncode != 0
