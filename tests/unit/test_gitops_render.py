"""invoke render: every Argo CD object valid against the v3.4.4 CRDs, isolation, sync policy, determinism,
image tags kept, credentials never rendered."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from dockyard import inventory, secrets
from dockyard.gitops import deploy_repo, names
from dockyard.problems import InvalidInput
from dockyard.spec.validate import validate
from tests import crds
from tests.gitops_helpers import objects, of_kind, render, tree_bytes

ENVS = ("dev", "prod", "stage")


def two_projects(spec: dict[str, Any]) -> None:
    spec["dockyard_environments"]["dev"]["namespace_prefix"] = "dev-"
    spec["dockyard_environments"]["stage"]["namespace_prefix"] = "stage-"
    spec["dockyard_projects"].append(
        {
            "name": "pay",
            "environments": ["dev", "prod"],
            "services": [
                {
                    "name": "api",
                    "port": 8443,
                    "health_path": "/healthz",
                    "replicas": 2,
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                },
                {"name": "worker", "port": 9000},
            ],
            "cluster_resources": [{"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pay-*"}],
        }
    )


def test_every_argocd_object_is_valid_against_the_crds(
    isolated_root: Path, edit_spec: Callable[..., Path], tmp_path: Path
) -> None:
    tree = edit_spec(two_projects)
    render(isolated_root, tree, tmp_path / "out")
    checked = 0
    for env in ENVS:
        for obj in objects(tmp_path / "out", env):
            if obj["kind"] in crds.KINDS:
                assert crds.errors(obj) == []
                checked += 1
    for path in (tmp_path / "out" / "repos" / names.APPS_REPO).rglob("*.yaml"):
        assert crds.errors(yaml.safe_load(path.read_text())) == []
        checked += 1
    # dev: 2 projects x AppProject + 4 apps + root project + root app; prod the same; stage: shop only;
    # each Argo CD's locked default project
    assert checked == (2 + 4 + 2) * 2 + (1 + 2 + 2) + (4 + 4 + 2) + 3


def test_the_crd_check_catches_a_wrong_field(isolated_root: Path, sample_tree: Path, tmp_path: Path) -> None:
    render(isolated_root, sample_tree, tmp_path / "out", "dev")
    app = of_kind(objects(tmp_path / "out", "dev"), "Application")[0]
    app["spec"]["syncPolicy"]["automatic"] = {"prune": True}
    assert any("automatic" in e for e in crds.errors(app))


def test_sync_policy_follows_the_environment(
    isolated_root: Path, edit_spec: Callable[..., Path], tmp_path: Path
) -> None:
    render(isolated_root, edit_spec(two_projects), tmp_path / "out")
    for env in ENVS:
        apps = of_kind(objects(tmp_path / "out", env), "Application")
        assert apps
        for app in apps:
            policy = app["spec"]["syncPolicy"]
            if env == "prod":
                assert "automated" not in policy, app["metadata"]["name"]
            else:
                assert policy["automated"] == {"prune": True, "selfHeal": True}
            assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
            if app["metadata"]["name"] != "dockyard-root":
                assert "CreateNamespace=true" in policy["syncOptions"]
    windows = [
        p["spec"].get("syncWindows")
        for p in of_kind(objects(tmp_path / "out", "prod"), "AppProject")
        if p["metadata"]["name"] != names.DEFAULT_PROJECT
    ]
    assert all(w and w[0]["kind"] == "allow" and w[0]["schedule"] == "0 20 * * 1-4" for w in windows)
    assert all("syncWindows" not in p["spec"] for p in of_kind(objects(tmp_path / "out", "dev"), "AppProject"))


def test_app_projects_reach_only_their_own_repo_and_namespace(
    isolated_root: Path, edit_spec: Callable[..., Path], tmp_path: Path
) -> None:
    render(isolated_root, edit_spec(two_projects), tmp_path / "out")
    expected_ns = {
        ("dev", "shop"): "dev-shop",
        ("dev", "pay"): "dev-pay",
        ("prod", "shop"): "shop",
        ("prod", "pay"): "pay",
        ("stage", "shop"): "stage-shop",
    }
    for env in ENVS:
        objs = objects(tmp_path / "out", env)
        apps = of_kind(objs, "Application")
        for project in of_kind(objs, "AppProject"):
            name = project["metadata"]["name"]
            spec = project["spec"]
            if name == names.DEFAULT_PROJECT:
                continue  # locked: test_trust_gaps
            if name == "dockyard":
                assert spec["namespaceResourceWhitelist"] == [{"group": "argoproj.io", "kind": "Application"}]
                assert spec["clusterResourceWhitelist"] == []
                assert spec["sourceRepos"] == ["git@gitlab.platform.example.com:dockyard/argocd-apps.git"]
                continue
            ns = expected_ns[(env, name)]
            assert spec["sourceRepos"] == [f"git@gitlab.platform.example.com:{name}/{name}-deploy.git"]
            assert spec["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": ns}]
            allowed = [w for w in spec["clusterResourceWhitelist"] if w["kind"] == "Namespace"]
            assert allowed == [{"group": "", "kind": "Namespace", "name": ns}]
            extra = [w for w in spec["clusterResourceWhitelist"] if w["kind"] != "Namespace"]
            assert extra == (
                [{"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pay-*"}]
                if name == "pay"
                else []
            )
            for app in apps:
                if app["spec"]["project"] == name:
                    assert app["spec"]["destination"]["namespace"] == ns
                    assert app["spec"]["source"]["repoURL"] in spec["sourceRepos"]
    assert not (tmp_path / "out" / "stage" / "argocd" / "appproject-pay.yaml").exists()


def test_central_layout_one_argocd_other_clusters_by_name(
    isolated_root: Path, edit_spec: Callable[..., Path], tmp_path: Path
) -> None:
    def central(spec: dict[str, Any]) -> None:
        two_projects(spec)
        spec["dockyard_argocd_layout"] = "central"
        spec["dockyard_argocd_central_env"] = "prod"

    render(isolated_root, edit_spec(central), tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "prod" / "argocd-values.yaml").is_file()
    assert not (out / "dev" / "argocd-values.yaml").exists()
    dev = objects(out, "dev")
    clusters = [s for s in of_kind(dev, "Secret") if s["metadata"]["labels"].get(names.SECRET_TYPE_LABEL) == "cluster"]
    assert [c["metadata"]["name"] for c in clusters] == ["cluster-dev"]
    assert clusters[0]["stringData"] == {"name": "dev"}
    assert "data" not in clusters[0]  # server and credentials are filled in at apply time
    for project in of_kind(dev, "AppProject"):
        assert project["metadata"]["name"].endswith("-dev")
        if project["metadata"]["name"] != "dockyard-dev":
            assert all(d.get("name") == "dev" and "server" not in d for d in project["spec"]["destinations"])
    for app in of_kind(dev, "Application"):
        assert app["metadata"]["name"].endswith("-dev")
        if app["metadata"]["name"] != "dockyard-root-dev":
            assert app["spec"]["destination"]["name"] == "dev"
            assert app["spec"]["source"]["helm"]["releaseName"] == app["metadata"]["name"].removesuffix("-dev")
    prod = objects(out, "prod")
    assert not [s for s in of_kind(prod, "Secret") if s["metadata"]["labels"].get(names.SECRET_TYPE_LABEL) == "cluster"]
    assert all(
        p["spec"]["destinations"][0].get("server")
        for p in of_kind(prod, "AppProject")
        if p["metadata"]["name"] != names.DEFAULT_PROJECT
    )
    assert names.DEFAULT_PROJECT not in {p["metadata"]["name"] for p in of_kind(dev, "AppProject")}
    values = yaml.safe_load((out / "prod" / "argocd-values.yaml").read_text())
    csv = values["configs"]["rbac"]["policy.csv"]
    assert "p, role:prod-sync, applications, sync, shop-prod/*, allow" in csv
    assert "shop-dev/*" not in csv and "shop-stage/*" not in csv


def test_render_is_byte_identical_and_keeps_image_tags(isolated_root: Path, sample_tree: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    render(isolated_root, sample_tree, first)
    render(isolated_root, sample_tree, second)
    assert tree_bytes(first) == tree_bytes(second)
    values = first / "repos" / "shop-deploy" / deploy_repo.values_path("stage", "cart")
    values.write_text(values.read_text().replace("tag: ''", "tag: '1.10'"))
    chart = first / "repos" / "shop-deploy" / "chart" / "Chart.yaml"
    chart.write_text("edited by hand\n")
    render(isolated_root, sample_tree, first)
    assert "tag: '1.10'" in values.read_text()
    assert chart.read_text().startswith("apiVersion: v2")
    assert tree_bytes(first)[f"repos/shop-deploy/{deploy_repo.values_path('dev', 'cart')}"].count(b"tag: ''") == 1


def test_credentials_are_references_and_values_file_is_private(
    isolated_root: Path, sample_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render(isolated_root, sample_tree, out, "dev")
    vault = secrets.Vault.open(inventory.InventoryTree(sample_tree), "dev", isolated_root / ".dockyard")
    password = vault.require("argocd.dev.admin_password", "render creates it")
    everything = b"".join(tree_bytes(out).values())
    assert password.encode() not in everything
    for secret in of_kind(objects(out, "dev"), "Secret"):
        assert "data" not in secret
        assert not {"sshPrivateKey", "tls.key", "config"} & set(secret.get("stringData", {}))
    repo = next(s for s in of_kind(objects(out, "dev"), "Secret") if s["metadata"]["name"] == "repo-shop-deploy")
    assert repo["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    assert repo["metadata"]["annotations"] == {
        "dockyard.io/value-from.sshPrivateKey": "vault:argocd.dev.deploy_key.shop"
    }
    assert repo["stringData"]["url"].endswith(".git")
    values_file = out / "dev" / "argocd-values.yaml"
    assert stat.S_IMODE(values_file.stat().st_mode) == 0o600
    hashed = yaml.safe_load(values_file.read_text())["configs"]["secret"]["argocdServerAdminPassword"]
    assert bcrypt.checkpw(password.encode(), hashed.encode())


def test_deploy_repo_files_interface_keeps_tags(sample_tree: Path) -> None:
    platform = validate(inventory.load(inventory.InventoryTree(sample_tree), "dev"))
    project = platform.projects[0]
    files = deploy_repo.deploy_repo_files(platform, project)
    path = deploy_repo.values_path("prod", "web")
    assert path == "envs/prod/web/values.yaml"
    assert set(files) >= {"chart/Chart.yaml", path, deploy_repo.values_path("dev", "cart")}
    assert all(isinstance(v, bytes) for v in files.values())
    existing = {path: files[path].replace(b"tag: ''", b"tag: sha-4f2a9c1")}
    again = deploy_repo.deploy_repo_files(platform, project, existing)
    assert deploy_repo.image_tag(again[path], path) == "sha-4f2a9c1"
    assert yaml.safe_load(again[path])["image"]["repository"] == "harbor.platform.example.com/shop/web"
    assert again == deploy_repo.deploy_repo_files(platform, project, existing)
    with pytest.raises(InvalidInput, match=r"envs/prod/web/values\.yaml: .*not valid YAML"):
        deploy_repo.deploy_repo_files(platform, project, {path: b"image: [unclosed"})


def test_reserved_project_name_is_a_spec_problem(edit_spec: Callable[..., Path]) -> None:
    tree = edit_spec(
        lambda s: s["dockyard_projects"].append({"name": "dockyard", "services": [{"name": "x", "port": 1}]})
    )
    with pytest.raises(InvalidInput) as caught:
        validate(inventory.load(inventory.InventoryTree(tree), "dev"))
    assert any("'dockyard' is reserved" in line for line in caught.value.lines())


def test_bench_render_runs_on_a_small_platform(
    repo_root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from dockyard import bench  # noqa: PLC0415

    assert bench.run("render", repo_root, {"projects": "3", "services": "2", "envs": "2", "keep": str(tmp_path)}) == 0
    printed = capsys.readouterr().out
    assert "render: 3 projects x 2 services x 2 environments" in printed
    assert "render again:" in printed and "(0 files changed" in printed
    assert len(list((tmp_path / "stage" / "argocd").glob("application-*.yaml"))) == 3 * 2 + 1


def test_invoke_render_and_promote_are_tasks_with_clear_refusals() -> None:
    from tests.unit.test_tasks import invoke  # noqa: PLC0415

    listed = invoke("--list")
    assert "  render " in listed.stdout and "  promote " in listed.stdout
    proc = invoke("render", "--env", "qa", "--out", "/nonexistent/never-written")
    assert proc.returncode == 2
    assert "unknown environment 'qa'" in proc.stderr and "Traceback" not in proc.stderr
    assert not Path("/nonexistent/never-written").exists()
