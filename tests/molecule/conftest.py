"""How the Molecule tier shares the two cores (`invoke test` runs it with `-n 2 --dist loadscope
--no-loadscope-reorder`).

Each scenario of test_molecule.py is a unit of work on its own; a module of its own (gitlab,
harbor: several tests on one host and one test upstream) is one unit. Units go out slowest first,
and a worker gets its next unit only when it is down to its last test, so that neither worker
queues a long scenario while the other runs out of work.

pytest-xdist's `--dist loadgroup` would express the module part with `xdist_group` marks, but with
this pytest (9.2) it no longer groups anything (pytest-dev/pytest-xdist#1386): hence a scheduler.
"""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

# The order units go out in: the slowest first (docs/performance.md has their times); the rest after,
# as collected.
SLOWEST_FIRST = (
    "cluster_haproxy",
    "harbor",
    "cluster_vip",
    "cluster_external",
    "gitlab",
    "jenkins",
    "mirror",
    "argocd",
)


class ScenarioScheduling(LoadScopeScheduling):
    """LoadScopeScheduling with a scenario of test_molecule.py as its own scope."""

    def _split_scope(self, nodeid: str) -> str:
        if "/test_molecule.py::test_scenario[" in nodeid:
            return nodeid
        return nodeid.split("::", 1)[0]

    def _reschedule(self, node: WorkerController) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        # A worker holds its last test until it gets more work (pytest needs the next item to know
        # which fixtures to tear down): give it one more unit then, and not before.
        if self._pending_of(self.assigned_work[node]) > 1:
            return
        self._assign_work_unit(node)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling | None:
    if config.getoption("dist") != "loadscope":
        return None
    return ScenarioScheduling(config, log)  # type: ignore[arg-type]


def _rank(item: pytest.Item) -> int:
    scenario = item.callspec.params.get("scenario") if hasattr(item, "callspec") else None
    name = scenario or item.path.parent.name
    return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest first (a stable sort: a module's tests keep their order)."""
    items.sort(key=_rank)
