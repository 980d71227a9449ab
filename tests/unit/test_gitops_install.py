"""Installing the argo-cd chart through pyhelm3: idempotent, atomic with wait, dry run only compares,
the pinned version enforced. The real pyhelm3 and helm read the vendored chart; the release store is
the TEST DOUBLE in tests/fakes/helm_client.py (there is no cluster here)."""

from __future__ import annotations

import pytest

from dockyard.gitops import install
from dockyard.problems import DockyardError
from tests.fakes.helm_client import RecordingHelmClient
from tests.gitops_helpers import ARGO_CD_CHART

VALUES = {
    "global": {"domain": "argocd.dev.example.com"},
    "configs": {"secret": {"argocdServerAdminPassword": "$2b$12$hash-one"}},
}


def installs(client: RecordingHelmClient) -> list:
    return [c for c in client.calls if c.method == "install_or_upgrade_release"]


def test_install_then_nothing_then_upgrade() -> None:
    client = RecordingHelmClient()
    first = install.install_chart(client, str(ARGO_CD_CHART), "10.1.1", VALUES, dry_run=False)
    assert (first.action, first.revision, first.chart_version) == ("install", 1, "10.1.1")
    [call] = installs(client)
    assert call.args == ("argocd", ARGO_CD_CHART, VALUES)
    assert call.kwargs == {"atomic": True, "wait": True, "namespace": "argocd", "create_namespace": True}

    again = install.install_chart(client, str(ARGO_CD_CHART), "10.1.1", VALUES, dry_run=False)
    assert again.action == "unchanged" and not again.changed
    assert len(installs(client)) == 1

    changed = {
        **VALUES,
        "server": {"replicas": 2},
        "configs": {"secret": {"argocdServerAdminPassword": "$2b$12$hash-two"}},
    }
    upgrade = install.install_chart(client, str(ARGO_CD_CHART), "10.1.1", changed, dry_run=False)
    assert (upgrade.action, upgrade.revision) == ("upgrade", 2)
    assert "+server:" in upgrade.diff and "+  replicas: 2" in upgrade.diff
    assert "hash-one" not in upgrade.diff and "hash-two" not in upgrade.diff
    assert "<redacted, new>" in upgrade.diff


def test_dry_run_compares_only() -> None:
    client = RecordingHelmClient()
    planned = install.install_chart(client, str(ARGO_CD_CHART), "10.1.1", VALUES, dry_run=True)
    assert planned.action == "install" and planned.revision is None
    assert [c.method for c in client.calls] == ["get_current_revision"]  # no rollback of pending releases either


def test_the_catalogue_version_is_enforced_and_helm_errors_are_one_line() -> None:
    with pytest.raises(DockyardError, match=r"chart version 10\.1\.1, but the catalogue pins 10\.2\.0"):
        install.install_chart(RecordingHelmClient(), str(ARGO_CD_CHART), "10.2.0", VALUES, dry_run=False)
    failing = RecordingHelmClient(
        fail_install=b"Error: UPGRADE FAILED: release argocd failed, and has been rolled back due to atomic being set\n"
    )
    with pytest.raises(DockyardError, match=r"^helm: release argocd in argocd: Error: UPGRADE FAILED: .*rolled back"):
        install.install_chart(failing, str(ARGO_CD_CHART), "10.1.1", VALUES, dry_run=False)
