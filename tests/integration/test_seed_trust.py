"""Issue 14, seed side: against the TEST DOUBLES of GitLab, Harbor and Jenkins (tests/fakes)."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.lab import SeedLab
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
    lab.edit_spec(lambda spec: spec["dockyard_environments"]["prod"].update(sync="auto"))
    lab.reset_counts()
    changed = seed()
    assert changed.rc == 0, changed.err
    assert ("gitlab", "protected-branch", "shop/shop-deploy main") in changed.actions("update")
    writes = lab.writes()["gitlab"]
    assert not [w for w in writes if w[0] == "DELETE" and "/protected_branches/" in w[1]], writes
    assert any(w[0] == "PATCH" and w[1].endswith("/protected_branches/main") for w in writes), writes
    assert lab.gitlab.branches[deploy]["main"]["id"] == before  # the same rule, never absent
    assert lab.gitlab.unprotected == []
