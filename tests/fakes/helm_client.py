"""TEST DOUBLE of the cluster side of pyhelm3's Client: the real pyhelm3 Client (and the real helm binary
for ``get_chart``, which needs no cluster) with the release lookups and the install replaced by a
recording, in-memory release store. pyhelm3's own decision logic (should_install_or_upgrade_release)
runs unchanged. Not shipped; never imported by src/."""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pyhelm3 import Client
from pyhelm3.errors import Error, ReleaseNotFoundError
from pyhelm3.models import ReleaseRevisionStatus

HELM = str(Path(sys.executable).parent / "helm")


@dataclass
class FakeRevision:
    revision: int
    chart_name: str
    chart_version: str
    deployed_values: dict[str, Any]
    status: ReleaseRevisionStatus = ReleaseRevisionStatus.DEPLOYED

    async def chart_metadata(self) -> Any:
        return SimpleNamespace(name=self.chart_name, version=self.chart_version)

    async def values(self) -> dict[str, Any]:
        return copy.deepcopy(self.deployed_values)


@dataclass
class Call:
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


class RecordingHelmClient(Client):
    """pyhelm3's Client; releases live in memory, every cluster-facing call is recorded."""

    def __init__(self, *, fail_install: bytes | None = None) -> None:
        super().__init__(executable=HELM)
        self.release: FakeRevision | None = None
        self.calls: list[Call] = []
        self.fail_install = fail_install

    async def get_current_revision(self, release_name: str, *, namespace: str | None = None) -> FakeRevision:
        self.calls.append(Call("get_current_revision", (release_name,), {"namespace": namespace}))
        if self.release is None:
            raise ReleaseNotFoundError(1, b"", b"Error: release: not found")
        return self.release

    async def get_proceedable_revision(
        self, release_name: str, *, namespace: str | None = None, timeout: Any = None
    ) -> FakeRevision | None:
        self.calls.append(Call("get_proceedable_revision", (release_name,), {"namespace": namespace}))
        return self.release

    async def install_or_upgrade_release(
        self, release_name: str, chart: Any, *values: dict[str, Any], **kwargs: Any
    ) -> FakeRevision:
        self.calls.append(Call("install_or_upgrade_release", (release_name, chart.ref, *values), kwargs))
        if self.fail_install is not None:
            raise Error(1, b"", self.fail_install)
        number = self.release.revision + 1 if self.release else 1
        self.release = FakeRevision(number, chart.metadata.name, str(chart.metadata.version), copy.deepcopy(values[0]))
        return self.release
