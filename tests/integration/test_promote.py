"""invoke promote against a real bare git repository (git on this machine): commits, branches, refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dockyard import inventory
from dockyard.gitops import deploy_repo, git, promote
from dockyard.gitops.gitlab_mr import MergeRequest
from dockyard.problems import InvalidInput
from dockyard.spec.model import Platform
from dockyard.spec.validate import validate
from tests.gitops_helpers import deploy_remote

ROOT = Path(__file__).resolve().parents[2]
INVOKE = str(Path(sys.executable).parent / "invoke")


def sh(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def platform(sample_tree: Path) -> Platform:
    return validate(inventory.load(inventory.InventoryTree(sample_tree), "dev"))


@pytest.fixture
def bare(tmp_path: Path, platform: Platform) -> Path:
    """A bare deploy repository (default branch main, and env/prod) seeded with the generated files, dev tagged."""
    return deploy_remote(tmp_path, platform)


def show(bare: Path, ref: str, path: str) -> str:
    return sh("--git-dir", str(bare), "show", f"{ref}:{path}")


def never(_request: MergeRequest) -> str:
    raise AssertionError("no merge request may be opened here")


def test_promote_to_auto_env_is_one_commit_on_main(platform: Platform, bare: Path) -> None:
    before = sh("--git-dir", str(bare), "rev-parse", "main")
    result = promote.promote(platform, "shop", "cart", "dev", "stage", repo_url=str(bare), open_merge_request=never)
    assert result.changed and result.target == "main"
    assert sh("--git-dir", str(bare), "rev-parse", "main^") == before
    assert sh("--git-dir", str(bare), "rev-parse", "main") == result.commit
    message = sh("--git-dir", str(bare), "log", "-1", "--format=%B", "main")
    assert message.startswith("promote shop/cart to stage: image tag sha-1f2e3d4 (from dev)")
    assert "envs/stage/cart/values.yaml: image.tag (none) -> sha-1f2e3d4" in message
    changed = sh("--git-dir", str(bare), "diff", "--name-only", "main^", "main")
    assert changed == "envs/stage/cart/values.yaml"
    stage = show(bare, "main", "envs/stage/cart/values.yaml")
    assert deploy_repo.image_tag(stage.encode(), "x") == "sha-1f2e3d4"
    assert "repository: harbor.platform.example.com/shop/cart" in stage
    again = promote.promote(platform, "shop", "cart", "dev", "stage", repo_url=str(bare), open_merge_request=never)
    assert not again.changed
    assert sh("--git-dir", str(bare), "rev-parse", "main") == result.commit
    assert "already there" in again.summary()


def test_promote_to_manual_env_pushes_a_branch_not_main(platform: Platform, bare: Path) -> None:
    promote.promote(platform, "shop", "cart", "dev", "stage", repo_url=str(bare), open_merge_request=never)
    main = sh("--git-dir", str(bare), "rev-parse", "main")
    result = promote.promote(platform, "shop", "cart", "stage", "prod", repo_url=str(bare), open_merge_request=never)
    assert result.target == "promote/prod/cart-sha-1f2e3d4"
    assert result.merge_request is None and "not the platform's GitLab" in result.note
    prod_head = sh("--git-dir", str(bare), "rev-parse", "env/prod")
    assert sh("--git-dir", str(bare), "rev-parse", "main") == main  # prod changes only by merge request
    assert sh("--git-dir", str(bare), "rev-parse", f"{result.target}^") == prod_head  # made from env/prod
    assert deploy_repo.image_tag(show(bare, result.target, "envs/prod/cart/values.yaml").encode(), "x") == "sha-1f2e3d4"
    assert deploy_repo.image_tag(show(bare, "main", "envs/prod/cart/values.yaml").encode(), "x") is None
    # rerun: the branch is there with the tag: no new commit, same branch head
    again = promote.promote(platform, "shop", "cart", "stage", "prod", repo_url=str(bare), open_merge_request=never)
    assert again.commit == result.commit == sh("--git-dir", str(bare), "rev-parse", result.target)


def test_merge_request_opened_when_the_remote_is_gitlab(platform: Platform, bare: Path) -> None:
    seen: list[MergeRequest] = []

    def recording(request: MergeRequest) -> str:
        seen.append(request)
        return "https://gitlab.platform.example.com/shop/shop-deploy/-/merge_requests/7"

    result = promote.promote(
        platform, "shop", "cart", "dev", "prod", repo_url=str(bare), open_merge_request=recording, gitlab_remote=True
    )
    assert result.merge_request.endswith("/merge_requests/7")
    [request] = seen
    assert request.gitlab_url == "https://gitlab.platform.example.com"
    assert request.project_path == "shop/shop-deploy"
    assert (request.source_branch, request.target_branch) == ("promote/prod/cart-sha-1f2e3d4", "env/prod")
    assert "sha-1f2e3d4" in request.title and "envs/prod/cart/values.yaml" in request.description


def test_promote_to_prod_without_its_branch_is_refused(platform: Platform, bare: Path) -> None:
    sh("--git-dir", str(bare), "branch", "-D", "env/prod")
    with pytest.raises(InvalidInput, match=r"branch env/prod: not in the deploy repository \(invoke seed creates it"):
        promote.promote(platform, "shop", "cart", "dev", "prod", repo_url=str(bare), open_merge_request=never)


def test_refusals(platform: Platform, bare: Path) -> None:
    head = sh("--git-dir", str(bare), "rev-parse", "main")
    with pytest.raises(InvalidInput, match=r"envs/dev/web/values\.yaml: image\.tag: empty, nothing to promote"):
        promote.promote(platform, "shop", "web", "dev", "stage", repo_url=str(bare), open_merge_request=never)
    with pytest.raises(
        InvalidInput, match=r"--to: qa: unknown environment \(environments in the spec: dev, stage, prod\)"
    ):
        promote.promote(platform, "shop", "cart", "dev", "qa", repo_url=str(bare), open_merge_request=never)
    with pytest.raises(InvalidInput, match="--service: db: not a service of project shop"):
        promote.promote(platform, "shop", "db", "dev", "stage", repo_url=str(bare), open_merge_request=never)
    with pytest.raises(InvalidInput, match="same environment"):
        promote.promote(platform, "shop", "cart", "dev", "dev", repo_url=str(bare), open_merge_request=never)
    assert sh("--git-dir", str(bare), "rev-parse", "main") == head
    refs = sh("--git-dir", str(bare), "for-each-ref", "--format=%(refname)", "refs/heads")
    assert refs == "refs/heads/env/prod\nrefs/heads/main"


def test_invoke_promote_end_to_end(sample_tree: Path, bare: Path, isolated_root: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INVOKE, "-r", str(ROOT), "promote", "--inventories", str(sample_tree), "--repo", str(bare), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    ok = run("--project", "shop", "--service", "cart", "--from", "dev", "--to", "stage")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("promote: shop/cart dev -> stage: image tag sha-1f2e3d4: commit ")
    refused = run("--project", "shop", "--service", "web", "--from", "dev", "--to", "stage")
    assert refused.returncode == 2
    assert "image.tag: empty, nothing to promote" in refused.stderr and "Traceback" not in refused.stderr


def test_host_of_git_urls() -> None:
    assert git.host_of("git@gitlab.example.com:shop/shop-deploy.git") == "gitlab.example.com"
    assert git.host_of("ssh://git@gitlab.example.com:2222/shop/x.git") == "gitlab.example.com"
    assert git.host_of("https://gitlab.example.com/shop/x.git") == "gitlab.example.com"
    assert git.host_of("/srv/git/shop-deploy.git") is None
    assert git.host_of("file:///srv/git/x.git") is None
    assert git.branch_name_part("1.2..3/../x.lock") == "1.2.3-.-x"
