"""Issue 14, seed side: against the TEST DOUBLES of GitLab, Harbor and Jenkins (tests/fakes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from dockyard import inventory
from dockyard.gitops import gitlab_mr, promote
from dockyard.seed import names
from dockyard.spec.validate import validate
from tests.fakes.lab import SeedLab
from tests.gitops_helpers import deploy_remote, git
from tests.integration.conftest import Seed

DAY = 86400
ENVS = ("dev", "stage", "prod")


def _robots(lab: SeedLab) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in lab.harbor.robots.values()}


# --------------------------------------------------------------------------- 8. robots expire
def test_robots_expire_as_the_spec_says(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    robots = _robots(lab)
    assert set(robots) == {"robot$shop+push", *(f"robot$shop+pull-{e}" for e in ENVS)}
    for robot in robots.values():
        assert robot["duration"] == 90
        assert abs(robot["expires_at"] - (time.time() + 90 * DAY)) < 120
    lab.edit_spec(lambda spec: spec.update(dockyard_registry={"robot_expiry_days": 30}))
    changed = seed()
    assert changed.rc == 0, changed.err
    assert {c[2] for c in changed.actions("update") if c[1] == "robot"} == set(robots)
    for robot in _robots(lab).values():
        assert abs(robot["expires_at"] - (time.time() + 30 * DAY)) < 120
    assert seed().doc["summary"]["update"] == 0


def test_rotate_renews_robots_before_they_expire(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    lab.harbor.age_robots(80 * DAY)  # created 80 days ago: 10 days left
    plain = seed()
    assert plain.rc == 0, plain.err
    # a plain run renews what expires within the renewal window, and says so
    renewed = [c for c in plain.doc["changes"] if c["kind"] == "robot" and c["action"] == "update"]
    assert len(renewed) == 4, plain.doc["changes"]
    for robot in _robots(lab).values():
        assert robot["expires_at"] - time.time() > 89 * DAY
    lab.harbor.age_robots(5 * DAY)
    rotated = seed(rotate=True)
    assert rotated.rc == 0, rotated.err
    for robot in _robots(lab).values():
        assert robot["expires_at"] - time.time() > 89 * DAY
    assert {c[2] for c in rotated.actions("update") if c[1] == "robot-secret"} == set(_robots(lab))


# ------------------------------------------------------------- 8. branch protection, in place
def test_branch_protection_is_changed_in_place(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    deploy = lab.gitlab.project("shop/shop-deploy")["id"]
    before = lab.gitlab.branches[deploy]["main"]["id"]
    # someone loosened main's protection by hand: Developers may push
    for level in lab.gitlab.branches[deploy]["main"]["push_access_levels"]:
        if not level.get("deploy_key_id"):
            level["access_level"] = 30
    lab.reset_counts()
    changed = seed(deep=True)
    assert changed.rc == 0, changed.err
    assert ("gitlab", "protected-branch", "shop/shop-deploy main") in changed.actions("update")
    writes = lab.writes()["gitlab"]
    assert not [w for w in writes if w[0] == "DELETE" and "/protected_branches/" in w[1]], writes
    assert any(w[0] == "PATCH" and w[1].endswith("/protected_branches/main") for w in writes), writes
    assert lab.gitlab.branches[deploy]["main"]["id"] == before  # the same rule, never absent
    assert lab.gitlab.unprotected == []


# ------------------------------------------------------- 1. prod changes only by merged merge request
def test_prod_tracks_a_branch_only_a_merge_request_changes(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    deploy = lab.gitlab.project("shop/shop-deploy")["id"]
    jenkins_key = next(k for k, v in lab.gitlab.keys.items() if v["title"] == "dockyard:shop:jenkins")
    assert lab.gitlab.refs[deploy] == {"main", "env/prod"}
    prod = lab.gitlab.branches[deploy]["env/prod"]
    # nobody pushes, not even Jenkins' deploy key; Maintainers merge merge requests
    assert [(a["access_level"], a.get("deploy_key_id")) for a in prod["push_access_levels"]] == [(0, None)]
    assert [a["access_level"] for a in prod["merge_access_levels"]] == [40]
    assert prod["allow_force_push"] is False
    # dev/stage bumps keep working: Jenkins' key still pushes main
    main = lab.gitlab.branches[deploy]["main"]
    assert jenkins_key in {a.get("deploy_key_id") for a in main["push_access_levels"]}
    # a least-privilege token for promote: a project access token of the deploy repo, Developer, in the vault
    [token] = [t for t in lab.gitlab.access_tokens.values() if not t["revoked"]]
    assert token["project_id"] == deploy and token["access_level"] == 30 and token["scopes"] == ["api"]
    assert lab.vault().get("gitlab.promote-token.shop") == token["token"]
    lab.reset_counts()
    again = seed()
    assert again.doc["summary"]["create"] == again.doc["summary"]["update"] == 0
    assert lab.writes()["gitlab"] == []


def test_rotate_renews_the_promote_token(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    before = lab.vault().get("gitlab.promote-token.shop")
    rotated = seed(rotate=True)
    assert rotated.rc == 0, rotated.err
    assert ("gitlab", "access-token", "shop/shop-deploy dockyard-promote") in rotated.actions("update")
    after = lab.vault().get("gitlab.promote-token.shop")
    assert after != before
    [active] = [t for t in lab.gitlab.access_tokens.values() if not t["revoked"]]
    assert active["token"] == after


# --------------------------------------------------------------- 3. the apps repository is seeded
def test_seed_creates_the_apps_repository(lab: SeedLab, seed: Seed) -> None:
    first = seed()
    assert first.rc == 0, first.err
    assert ("gitlab", "group", "dockyard") in first.actions("create")
    assert ("gitlab", "repository", "dockyard/argocd-apps") in first.actions("create")
    apps = lab.gitlab.project("dockyard/argocd-apps")
    files = lab.gitlab.files[apps["id"]]
    assert "envs/prod/shop-cart.yaml" in files and "README.md" in files
    for env in ENVS:
        key = next(v for v in lab.gitlab.keys.values() if v["title"] == f"dockyard:dockyard:argocd-{env}")
        assert key["links"] == {apps["id"]: False}
    # no team key reaches it
    jenkins_key = next(v for v in lab.gitlab.keys.values() if v["title"] == "dockyard:shop:jenkins")
    assert apps["id"] not in jenkins_key["links"]
    assert lab.vault().get("argocd.prod.deploy_key.argocd-apps")


def test_promote_to_prod_opens_the_merge_request_with_the_promote_token(
    lab: SeedLab, seed: Seed, tmp_path: Path
) -> None:
    assert seed().rc == 0
    platform = validate(inventory.load(inventory.InventoryTree(lab.tree), "dev"))
    bare = deploy_remote(tmp_path, platform)
    vault = lab.vault()
    key = names.promote_token_key("shop")
    opener = gitlab_mr.promote_opener(vault.get(key), key, lab.tls.ca_path)
    lab.gitlab.calls_by_token.clear()
    result = promote.promote(
        platform, "shop", "cart", "dev", "prod", repo_url=str(bare), open_merge_request=opener, gitlab_remote=True
    )
    assert result.merge_request and result.merge_request.endswith("/shop/shop-deploy/-/merge_requests/1")
    deploy = lab.gitlab.project("shop/shop-deploy")["id"]
    [mr] = lab.gitlab.merge_requests[deploy]
    assert (mr["source_branch"], mr["target_branch"]) == ("promote/prod/cart-sha-1f2e3d4", "env/prod")
    # every call promote made carried the project access token, none the administrator's
    assert lab.gitlab.calls_by_token and all(who.startswith("project:") for _m, _p, who in lab.gitlab.calls_by_token)
    # the promote branch starts from env/prod, and neither env/prod nor main moved
    assert git("--git-dir", str(bare), "rev-parse", "env/prod") == git(
        "--git-dir", str(bare), "rev-parse", "promote/prod/cart-sha-1f2e3d4^"
    )
    # and that token can do nothing else: not even read another project
    token = vault.get(key)
    other = requests.get(
        f"{lab.servers['gitlab'].url}/api/v4/projects/{lab.gitlab.project('shop/cart')['id']}",
        headers={"PRIVATE-TOKEN": token},
        verify=str(lab.tls.ca_path),
        timeout=10,
    )
    assert other.status_code == 403
