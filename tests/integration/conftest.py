"""Fixtures for the seed tests: a lab of TEST DOUBLES (GitLab, Harbor, Jenkins) over HTTPS."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard import secrets
from dockyard.seed.cli import seed_command
from tests.fakes.lab import SeedLab
from tests.standins.airgap_upstream import airgap_artefacts, airgap_upstreams  # noqa: F401 (fixtures)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeedLab]:
    lab = SeedLab(tmp_path)
    lab.write_tree()
    monkeypatch.setenv(secrets.PASSWORD_ENV, str(secrets.password_file(lab.root / ".dockyard")))
    for name, value in lab.jenkins_env().items():
        monkeypatch.setenv(name, value)
    lab.store_admin_credentials()
    lab.store_known_hosts()
    yield lab
    lab.stop()
    assert lab.violations() == [], "a double saw a request or answered outside the vendor's API"


@dataclass
class SeedResult:
    rc: int
    out: str
    err: str

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.out)

    def actions(self, action: str) -> list[tuple[str, str, str]]:
        return [(c["tool"], c["kind"], c["name"]) for c in self.doc["changes"] if c["action"] == action]


Seed = Callable[..., SeedResult]


@pytest.fixture
def seed(lab: SeedLab, capsys: pytest.CaptureFixture[str]) -> Seed:
    """Run ``invoke seed`` (its function) against the lab; JSON output unless text=True."""

    def run(*, env: str = "dev", text: bool = False, **flags: bool) -> SeedResult:
        capsys.readouterr()
        rc = seed_command(lab.root, str(lab.tree), env, as_json=not text, **flags)
        captured = capsys.readouterr()
        return SeedResult(rc, captured.out, captured.err)

    return run
