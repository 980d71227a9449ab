"""Shared fixtures: the repository, and throwaway copies of the sample inventory tree."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"

os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))


@pytest.fixture(autouse=True)
def _vault_password_setting_stays_put() -> Iterator[None]:
    """Code under test points ANSIBLE_VAULT_PASSWORD_FILE at its own state directory (as invoke does);
    put the variable back after each test so no later test, or command it starts, inherits it."""
    name = "ANSIBLE_VAULT_PASSWORD_FILE"
    before = os.environ.get(name)
    yield
    if before is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = before


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def sample_tree(tmp_path: Path) -> Path:
    """A copy of the sample inventories (platform, dev, stage, prod) a test may edit."""
    tree = tmp_path / "inventories"
    shutil.copytree(ROOT / "inventories", tree, ignore=shutil.ignore_patterns("local", "vault.yml"))
    return tree


SpecEditor = Callable[[Callable[[dict[str, Any]], None]], Path]


@pytest.fixture
def edit_spec(sample_tree: Path) -> SpecEditor:
    """Apply a change to the sample platform spec file (dockyard.yml) and return the tree."""

    def edit(change: Callable[[dict[str, Any]], None], file: str = "dockyard.yml") -> Path:
        path = sample_tree / "platform" / "group_vars" / "all" / file
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return sample_tree

    return edit


# Under pytest-xdist (the Molecule tier runs on both cores) every worker has its own session: the
# engine and the image are made once, under a lock, and an engine a worker started is stopped by the
# controlling process when the whole run ends (a worker cannot know when the others are done).
STARTED_BY_WORKER = ROOT / ".dockyard" / "dockerd.started-by-a-test-worker"


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """An exclusive lock shared by every pytest process of this checkout (.dockyard/<name>.lock)."""
    path = ROOT / ".dockyard" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.fixture(scope="session")
def docker_engine(pytestconfig: pytest.Config) -> Iterator[Path]:
    """A running Docker engine for the tiers that need real hosts; stopped at the end only if this
    test run started it."""
    from dockyard.localhosts import engine  # noqa: PLC0415

    state = ROOT / ".dockyard"
    with _locked("docker-engine"):
        engine.ensure_packages()
        started = engine.ensure_running(state)
        if started and _xdist_worker(pytestconfig):
            STARTED_BY_WORKER.touch()
    yield state
    if started and not _xdist_worker(pytestconfig):
        engine.stop_if_started(state)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controlling process of an xdist run stops the engine one of its workers started."""
    if _xdist_worker(session.config) or not STARTED_BY_WORKER.exists():
        return
    from dockyard.localhosts import engine  # noqa: PLC0415

    STARTED_BY_WORKER.unlink()
    engine.stop_if_started(ROOT / ".dockyard")


@pytest.fixture(scope="session")
def test_image(docker_engine: Path) -> str:
    """The systemd Debian 12 image the local hosts and Molecule scenarios run (built once)."""
    from dockyard.localhosts import image  # noqa: PLC0415

    with _locked("test-image"):
        tag, _built = image.ensure(docker_engine / "image-build", docker_engine / "image-build.log")
    return tag


@pytest.fixture
def operator_root(isolated_root: Path) -> Path:
    """An isolated root that also has the repository's playbooks (the phases are read from there)."""
    (isolated_root / "playbooks").symlink_to(ROOT / "playbooks")
    return isolated_root


@pytest.fixture
def isolated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway repository root: its .dockyard state (vault password, pki, kubeconfigs) is the test's own."""
    from dockyard import secrets  # noqa: PLC0415

    monkeypatch.delenv(secrets.PASSWORD_ENV, raising=False)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(ROOT / "ansible.cfg", root / "ansible.cfg")
    return root
