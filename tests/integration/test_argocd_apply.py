"""Applying an environment's Argo CD objects: server-side apply, idempotency, prune, dry run, secrets filled
at apply time. Against the Kubernetes API TEST DOUBLE (tests/fakes/kube_api.py), with the real client."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard import inventory, kube
from dockyard.gitops import apply, build, names
from dockyard.gitops.secret_values import Resolver
from dockyard.problems import DockyardError
from dockyard.spec.model import Platform
from dockyard.spec.validate import validate
from tests.fakes.kube_api import APPLY_PATCH, KubeAPI

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZSBrZXk=\n-----END OPENSSH PRIVATE KEY-----\n"


class MemoryStore(dict[str, str]):
    def set(self, key: str, value: str) -> bool:
        changed = self.get(key) != value
        self[key] = value
        return changed

    def get_or_create(self, key: str, generate: Callable[[], str]) -> tuple[str, bool]:
        if key in self:
            return self[key], False
        self[key] = generate()
        return self[key], True


@pytest.fixture
def api() -> Iterator[KubeAPI]:
    with KubeAPI() as server:
        server.create_namespace("argocd")
        yield server


def layout(root: Path, tree: Path, env: str, store: MemoryStore) -> tuple[list[dict[str, Any]], Platform]:
    inv = inventory.load(inventory.InventoryTree(tree), env)
    platform = validate(inv)
    env_layout, _settings = build.env_layout(root, inv.spec, platform, env, store=store)
    return env_layout.objects, platform


def resolver(root: Path, store: MemoryStore, kubeconfigs: dict[str, Path] | None = None) -> Resolver:
    return Resolver(vault=store, kubeconfigs=kubeconfigs or {}, pki_dir=root / ".dockyard" / "pki")


def pki(root: Path, host: str) -> None:
    certs = root / ".dockyard" / "pki" / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    (certs / f"{host}.crt").write_text("-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n")
    (certs / f"{host}.key").write_text("-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n")


def run(
    api: KubeAPI,
    root: Path,
    objects: list[dict[str, Any]],
    store: MemoryStore,
    *,
    dry_run: bool = False,
    env: str = "dev",
) -> apply.ApplyReport:
    with kube.connect(api.kubeconfig(root / "kubeconfig.yaml")) as cluster:
        return apply.apply_env(cluster, objects, env=env, resolver=resolver(root, store), dry_run=dry_run)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore({"argocd.dev.deploy_key.shop": KEY, "argocd.dev.deploy_key.argocd-apps": KEY})


def test_apply_is_server_side_labelled_and_idempotent(
    api: KubeAPI, isolated_root: Path, sample_tree: Path, store: MemoryStore
) -> None:
    pki(isolated_root, "argocd.dev.platform.example.com")
    objects, _ = layout(isolated_root, sample_tree, "dev", store)
    first = run(api, isolated_root, objects, store)
    assert first.count("create") == len(objects) == 9 and first.changed
    patches = [r for r in api.mutating_requests() if r.method == "PATCH"]
    assert len(patches) == 9
    assert all(r.content_type == APPLY_PATCH and r.query["fieldManager"] == ["dockyard"] for r in patches)
    apps = api.objects("applications", "argocd")
    assert set(apps) == {"shop-cart", "shop-web", "dockyard-root"}
    for obj in [
        *apps.values(),
        *api.objects("appprojects", "argocd").values(),
        *api.objects("secrets", "argocd").values(),
    ]:
        assert obj["metadata"]["labels"][names.MANAGED_BY_LABEL] == "dockyard"
        assert obj["metadata"]["labels"][names.ENV_LABEL] == "dev"
    repo = api.objects("secrets", "argocd")["repo-shop-deploy"]
    assert base64.b64decode(repo["data"]["sshPrivateKey"]).decode() == KEY
    assert base64.b64decode(repo["data"]["url"]).decode() == "git@gitlab.platform.example.com:shop/shop-deploy.git"
    tls = api.objects("secrets", "argocd")["argocd-server-tls"]
    assert tls["type"] == "kubernetes.io/tls" and set(tls["data"]) == {"tls.crt", "tls.key"}

    before = len(api.mutating_requests())
    second = run(api, isolated_root, objects, store)
    assert not second.changed and second.count("unchanged") == 9
    assert len(api.mutating_requests()) == before  # only dry runs and reads the second time


def test_drift_is_taken_back_and_diff_hides_secret_values(
    api: KubeAPI, isolated_root: Path, sample_tree: Path, store: MemoryStore
) -> None:
    objects, _ = layout(isolated_root, sample_tree, "dev", store)
    run(api, isolated_root, objects, store)
    api.edit("appprojects", "argocd", "shop", "kubectl-edit", {"spec": {"sourceRepos": ["*"]}})
    store["argocd.dev.deploy_key.shop"] = KEY.replace("ZmFrZSBrZXk=", "bmV3IGtleQ==")
    preview = run(api, isolated_root, objects, store, dry_run=True)
    updates = {c.name: c for c in preview.changes if c.action == "update"}
    assert set(updates) == {"shop", "repo-shop-deploy"}
    assert (
        "-  - '*'" in updates["shop"].diff
        and "+  - git@gitlab.platform.example.com:shop/shop-deploy.git" in updates["shop"].diff
    )
    assert (
        "bmV3IGtleQ" not in updates["repo-shop-deploy"].diff and "<redacted sha256:" in updates["repo-shop-deploy"].diff
    )
    assert api.objects("appprojects", "argocd")["shop"]["spec"]["sourceRepos"] == ["*"]  # dry run changed nothing
    applied = run(api, isolated_root, objects, store)
    assert applied.count("update") == 2
    assert api.objects("appprojects", "argocd")["shop"]["spec"]["sourceRepos"] == [
        "git@gitlab.platform.example.com:shop/shop-deploy.git"
    ]
    assert not run(api, isolated_root, objects, store).changed


def test_prune_only_dockyard_objects_of_this_env_that_left_the_spec(
    api: KubeAPI, isolated_root: Path, sample_tree: Path, edit_spec: Callable[..., Path], store: MemoryStore
) -> None:
    objects, _ = layout(isolated_root, sample_tree, "dev", store)
    run(api, isolated_root, objects, store)
    # Someone else's Application, and one of Dockyard's for another environment (central layout): not ours to prune.
    foreign = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "hand-made", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            "source": {"repoURL": "https://example.com/x.git", "path": "."},
        },
    }
    other_env = json.loads(json.dumps(foreign))
    other_env["metadata"] = {
        "name": "shop-cart-stage",
        "namespace": "argocd",
        "labels": {names.MANAGED_BY_LABEL: "dockyard", names.ENV_LABEL: "stage"},
    }
    with kube.connect(api.kubeconfig(isolated_root / "kubeconfig.yaml")) as cluster:
        cluster.apply(foreign, dry_run=False)
        cluster.apply(other_env, dry_run=False)

    def drop_web(spec: dict[str, Any]) -> None:
        spec["dockyard_projects"][0]["services"] = [
            s for s in spec["dockyard_projects"][0]["services"] if s["name"] != "web"
        ]

    smaller, _ = layout(isolated_root, edit_spec(drop_web), "dev", store)
    preview = run(api, isolated_root, smaller, store, dry_run=True)
    assert [c.line() for c in preview.changes if c.action == "delete"] == ["delete Application shop-web"]
    assert "shop-web" in api.objects("applications", "argocd")
    report = run(api, isolated_root, smaller, store)
    assert [c.line() for c in report.changes if c.action == "delete"] == ["delete Application shop-web"]
    # Argo CD's finalizer holds it while the app's resources are removed: not deleted twice, not "changed".
    assert api.objects("applications", "argocd")["shop-web"]["metadata"]["deletionTimestamp"]
    assert not run(api, isolated_root, smaller, store).changed
    api.finalize("applications", "argocd", "shop-web")
    assert set(api.objects("applications", "argocd")) == {"shop-cart", "dockyard-root", "hand-made", "shop-cart-stage"}


def test_missing_credentials_keep_the_object_as_it_is(
    api: KubeAPI, isolated_root: Path, sample_tree: Path, store: MemoryStore
) -> None:
    objects, _ = layout(isolated_root, sample_tree, "dev", store)
    run(api, isolated_root, objects, store)
    del store["argocd.dev.deploy_key.shop"]
    report = run(api, isolated_root, objects, store)
    assert [c.line() for c in report.changes if c.action == "kept"] == [
        "kept Secret repo-shop-deploy",
        "kept Secret argocd-server-tls",
    ]
    assert any(
        "repo-shop-deploy: sshPrivateKey from vault:argocd.dev.deploy_key.shop: not in the vault" in n
        for n in report.notes
    )
    assert "repo-shop-deploy" in api.objects("secrets", "argocd")  # neither overwritten nor pruned
    assert not report.changed


def test_dry_run_before_the_crds_exist_and_schema_errors(
    isolated_root: Path, sample_tree: Path, store: MemoryStore
) -> None:
    objects, _ = layout(isolated_root, sample_tree, "dev", store)
    with KubeAPI(crds_installed=False) as api:
        api.create_namespace("argocd")
        report = run(api, isolated_root, objects, store, dry_run=True)
        assert report.count("create") == 8  # everything but the TLS Secret (no certificate issued here)
        assert [c.line() for c in report.changes if c.action == "kept"] == ["kept Secret argocd-server-tls"]
        assert not api.mutating_requests()
        with pytest.raises(kube.UnknownKind):
            run(api, isolated_root, objects, store)
    with KubeAPI() as api:
        api.create_namespace("argocd")
        broken = [o for o in objects if o["kind"] == "AppProject" and o["spec"]["destinations"]][:1]
        broken[0]["spec"]["destinations"][0]["cluster"] = "typo"
        with pytest.raises(DockyardError, match=r"422 .*'cluster' was unexpected"):
            run(api, isolated_root, broken, store)


def test_probe_reports_why_a_cluster_cannot_be_used(tmp_path: Path) -> None:
    missing = tmp_path / "kubeconfig" / "local.yaml"
    assert kube.unreachable_reason(missing) == f"no kubeconfig at {missing}"
    with KubeAPI() as api:
        config = api.kubeconfig(tmp_path / "ok.yaml")
        assert kube.unreachable_reason(config) is None
        url = api.url
    reason = kube.unreachable_reason(config, timeout_s=2)
    assert reason is not None and reason.startswith(f"the API server {url} does not answer")


def test_central_layout_registers_the_environment_cluster(isolated_root: Path, edit_spec: Callable[..., Path]) -> None:
    from dockyard import secrets  # noqa: PLC0415
    from dockyard.gitops import phase  # noqa: PLC0415

    def central(spec: dict[str, Any]) -> None:
        spec["dockyard_argocd_layout"] = "central"
        spec["dockyard_argocd_central_env"] = "prod"

    tree = edit_spec(central)
    state = isolated_root / ".dockyard"
    secrets.use_password_file(state)  # as invoke does; isolated_root puts the environment back afterwards
    vault = secrets.Vault.open(inventory.InventoryTree(tree), "dev", state)
    vault.set("argocd.dev.deploy_key.shop", KEY)
    vault.set("argocd.dev.deploy_key.argocd-apps", KEY)
    vault.set("harbor.robot.shop-pull-dev", "Shop1PullSecret")  # seed's, for the image pull Secret
    spec = inventory.load(inventory.InventoryTree(tree), "dev").spec
    options = phase.PhaseOptions(install_chart=False, api_timeout_s=2)
    with KubeAPI(token="central-token") as central_api, KubeAPI(token="dev-token") as dev_api:
        central_api.kubeconfig(state / "kubeconfig" / "prod.yaml")
        dev_api.kubeconfig(state / "kubeconfig" / "dev.yaml")
        not_yet = phase.run(isolated_root, spec, "dev", inventory.InventoryTree(tree), options=options)
        assert not_yet.skipped_reason == (
            "argocd: SKIPPED for env dev: Argo CD is not installed in prod's cluster yet "
            "(run the argocd phase for env prod first)"
        )
        central_api.create_namespace("argocd")
        result = phase.run(isolated_root, spec, "dev", inventory.InventoryTree(tree), options=options)
        assert result.changed and not result.skipped, result
        cluster = central_api.objects("secrets", "argocd")["cluster-dev"]
        assert cluster["metadata"]["labels"][names.SECRET_TYPE_LABEL] == "cluster"
        data = {k: base64.b64decode(v).decode() for k, v in cluster["data"].items()}
        assert data["name"] == "dev" and data["server"] == dev_api.url
        assert json.loads(data["config"]) == {"bearerToken": "dev-token", "tlsClientConfig": {"insecure": False}}
        apps = central_api.objects("applications", "argocd")
        assert apps["shop-cart-dev"]["spec"]["destination"] == {"name": "dev", "namespace": "shop"}
        # the environment's own cluster gets only its namespaces, pull secrets and build accounts
        touched = {r.path for r in dev_api.mutating_requests()}
        assert touched and not [p for p in touched if "/namespaces/argocd/" in p], touched
        again = phase.run(isolated_root, spec, "dev", inventory.InventoryTree(tree), options=options)
        assert not again.changed
        assert "not in the vault" not in " ".join(again.notes)


def test_wrong_credentials_are_an_error_not_a_skip(tmp_path: Path) -> None:
    with KubeAPI() as api:
        config = api.kubeconfig(tmp_path / "wrong.yaml", token="not-the-token")
        with pytest.raises(kube.KubeError, match=r"answered 401 Unauthorized \(check the kubeconfig's credentials\)"):
            kube.unreachable_reason(config)
    broken = tmp_path / "broken.yaml"
    broken.write_text("clusters: [oops\n")
    with pytest.raises(kube.KubeError, match="not a usable kubeconfig"):
        kube.unreachable_reason(broken)
