"""Install or upgrade the argo-cd chart with pyhelm3: idempotent (nothing happens when the chart version
and values are what the release already has), ``--atomic`` (waits for readiness, rolls back on
failure), a release stuck in a pending state is rolled back first. The dry run compares only."""

from __future__ import annotations

import asyncio
import difflib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.gitops import names, yamlio
from dockyard.problems import DockyardError

SECRET_VALUE_PATHS = (("configs", "secret", "argocdServerAdminPassword"),)


@dataclass
class InstallResult:
    action: str  # install, upgrade, unchanged
    chart_version: str
    revision: int | None = None
    diff: str = ""

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"


def client_for(kubeconfig: Path, helm: str, timeout: str) -> Any:
    from pyhelm3 import Client  # noqa: PLC0415

    # pyhelm3 logs every failed helm call as a warning, also `helm status` of a release that is not
    # installed yet; with no handler Python prints that on stderr (Ansible: "errantly sent data").
    # Failures that matter come back as exceptions, which install_chart reports.
    logging.getLogger("pyhelm3").addHandler(logging.NullHandler())
    return Client(executable=helm, kubeconfig=kubeconfig, default_timeout=timeout)


def install_chart(
    client: Any,
    chart_ref: str,
    version: str,
    values: dict[str, Any],
    *,
    dry_run: bool,
    release: str = names.ARGOCD_RELEASE,
    namespace: str = names.ARGOCD_NAMESPACE,
    pin_hint: str = "argocd_chart in the catalogue, or fix the chart source",
) -> InstallResult:
    """``client`` is a pyhelm3 Client bound to the cluster's kubeconfig; Argo CD's release by default."""
    return asyncio.run(
        _install(
            client, chart_ref, version, values, dry_run=dry_run, release=release, namespace=namespace, pin_hint=pin_hint
        )
    )


async def _install(
    client: Any,
    chart_ref: str,
    version: str,
    values: dict[str, Any],
    *,
    dry_run: bool,
    release: str,
    namespace: str,
    pin_hint: str,
) -> InstallResult:
    from pyhelm3.errors import Error as HelmError  # noqa: PLC0415
    from pyhelm3.errors import ReleaseNotFoundError  # noqa: PLC0415

    try:
        chart = await client.get_chart(chart_ref, version=None if _is_file_or_url(chart_ref) else version)
        if str(chart.metadata.version) != version:
            raise DockyardError(
                f"{chart_ref}: chart version {chart.metadata.version}, but the catalogue pins {version} ({pin_hint})"
            )
        if dry_run:
            try:
                current = await client.get_current_revision(release, namespace=namespace)
            except ReleaseNotFoundError:
                current = None
        else:
            current = await client.get_proceedable_revision(release, namespace=namespace)
        if not await client.should_install_or_upgrade_release(current, chart, values):
            return InstallResult("unchanged", version, current.revision)
        before = await current.values() if current is not None else None
        diff = _values_diff(before, values)
        action = "install" if current is None else "upgrade"
        if dry_run:
            return InstallResult(action, version, None, diff)
        revision = await client.install_or_upgrade_release(
            release, chart, values, atomic=True, wait=True, namespace=namespace, create_namespace=True
        )
        return InstallResult(action, version, revision.revision, diff)
    except HelmError as exc:
        detail = (exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else str(exc)).strip()
        raise DockyardError(
            f"helm: release {release} in {namespace}: {detail.splitlines()[-1] if detail else exc}"
        ) from None


def _is_file_or_url(ref: str) -> bool:
    return "://" in ref or Path(ref).exists()


def _values_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """A unified diff of the values with the admin password hash shown only as changed or not."""

    def text(values: dict[str, Any] | None, marker: str) -> list[str]:
        if values is None:
            return []
        masked = yamlio.load(yamlio.dump(values))
        for path in SECRET_VALUE_PATHS:
            node = masked
            for part in path[:-1]:
                node = node.get(part, {}) if isinstance(node, dict) else {}
            if isinstance(node, dict) and path[-1] in node:
                node[path[-1]] = marker
        return yamlio.dump(masked).splitlines(keepends=True)

    same = before is not None and all(_get(before, p) == _get(after, p) for p in SECRET_VALUE_PATHS)
    return "".join(
        difflib.unified_diff(
            text(before, "<redacted>"),
            text(after, "<redacted>" if same else "<redacted, new>"),
            "deployed values",
            "wanted values",
        )
    )


def _get(values: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    node: Any = values
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node
