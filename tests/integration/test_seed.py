"""``invoke seed`` against TEST DOUBLES of GitLab, Harbor and Jenkins (real HTTPS on 127.0.0.1,
TLS verified against a test CA): create, rerun, change, prune, failure and recovery, rotation."""

from __future__ import annotations

import base64
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from dockyard import cli
from dockyard.gitops import deploy_repo
from dockyard.seed import names, sshkeys
from dockyard.seed.cli import seed_after_bootstrap
from dockyard.seed.markers import parse_marker
from tests.fakes.lab import SeedLab
from tests.fakes.server import TestTls
from tests.integration.conftest import Seed

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"

SERVICES = ("cart", "web")
ENVS = ("dev", "stage", "prod")


def _secret_values(lab: SeedLab) -> list[str]:
    vault = lab.vault()
    keys = vault.keys()
    return [v for k in keys if (v := vault.get(k))]


def test_first_run_creates_everything_and_a_rerun_is_all_noop(lab: SeedLab, seed: Seed) -> None:
    first = seed()
    assert first.rc == 0, first.err
    summary = first.doc["summary"]
    assert summary["create"] > 0
    assert summary["update"] == summary["delete"] == summary["noop"] == 0
    assert first.doc["skipped"] == [] and first.doc["failures"] == []
    created = set(first.actions("create"))
    assert ("harbor", "project", "shop") in created
    assert ("harbor", "robot", "robot$shop+push") in created
    assert {("harbor", "robot", f"robot$shop+pull-{e}") for e in ENVS} <= created
    assert ("harbor", "retention-policy", "shop") in created
    assert ("gitlab", "group", "shop") in created
    assert {("gitlab", "repository", f"shop/{r}") for r in (*SERVICES, "shop-deploy")} <= created
    assert {("gitlab", "hook", f"shop/{s} dockyard-jenkins") for s in SERVICES} <= created
    assert ("gitlab", "deploy-key", "shop/shop-deploy dockyard:shop:jenkins (write)") in created
    assert {("gitlab", "deploy-key", f"shop/shop-deploy dockyard:shop:argocd-{e} (read)") for e in ENVS} <= created
    assert ("jenkins", "cloud", "kubernetes/dockyard") in created
    assert {("jenkins", "job", f"shop/{s}") for s in SERVICES} <= created
    assert {
        ("jenkins", "credential", f"shop/{c}") for c in ("harbor-push", "gitlab-deploy-key", "build-kubeconfig")
    } <= created

    lab.reset_counts()
    second = seed()
    assert second.rc == 0, second.err
    assert second.doc["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": len(first.doc["changes"])}
    assert lab.writes() == {"gitlab": [], "harbor": [], "jenkins": []}
    counts = lab.counts()
    # Reads are whole listings, one page each here: groups, projects, deploy keys; projects, robots;
    # the item tree, the crumb, the JCasC export.
    assert {tool: c["read"] for tool, c in counts.items()} == {"gitlab": 3, "harbor": 2, "jenkins": 3}


def test_the_seeded_state_is_what_the_spec_asks_for(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    vault = lab.vault()
    # Harbor: private, scanned, retained; robots least privilege, their secrets in the vault.
    (project,) = lab.harbor.projects.values()
    assert project["metadata"]["public"] == "false" and project["metadata"]["auto_scan"] == "true"
    policy = lab.harbor.retentions[int(project["metadata"]["retention_id"])]
    assert policy["rules"][0]["params"] == {"latestPushedK": 10}
    for rid, robot in lab.harbor.robots.items():
        short = robot["name"].split("+", 1)[1]
        actions = {a["action"] for p in robot["permissions"] for a in p["access"]}
        assert actions == ({"push", "pull"} if short == "push" else {"pull"})
        assert {p["namespace"] for p in robot["permissions"]} == {"shop"}
        assert lab.harbor.robot_secrets[rid] == vault.get(names.robot_secret_key("shop", short))
    # GitLab: repositories initialised, hook to Jenkins on tag push only, with the vault's token.
    token = vault.get(names.webhook_token_key("shop"))
    for service in SERVICES:
        repo = lab.gitlab.project(f"shop/{service}")
        files = lab.gitlab.files[repo["id"]]
        assert {"Dockerfile", "skaffold.yaml", "README.md", "test.sh"} <= set(files)
        assert "Jenkinsfile" not in files  # the pipeline is the Jenkins job's own
        (hook,) = lab.gitlab.hooks[repo["id"]].values()
        assert hook["url"].endswith(f"/project/shop/{service}")
        assert hook["tag_push_events"] is True and hook["push_events"] is False
        assert hook["enable_ssl_verification"] is True and hook["token"] == token
        assert lab.gitlab.tags[repo["id"]]["release/*"]["create_access_levels"][0]["access_level"] == 40
    deploy = lab.gitlab.project("shop/shop-deploy")
    assert "envs/dev/cart/values.yaml" in lab.gitlab.files[deploy["id"]]
    # prod syncs manually, from env/prod: changes to it go through merge requests.
    main = lab.gitlab.branches[deploy["id"]]["main"]
    push = main["push_access_levels"]
    jenkins_key = next(k for k, v in lab.gitlab.keys.items() if v["title"] == "dockyard:shop:jenkins")
    # main carries dev and stage: Jenkins' key (release bumps) and Maintainers (promote to stage) push;
    # prod is on env/prod, which nobody pushes (tests/integration/test_seed_trust.py)
    assert {(a["access_level"], a.get("deploy_key_id")) for a in push} == {(40, None), (40, jenkins_key)}
    assert deploy["only_allow_merge_if_all_discussions_are_resolved"] is True
    # Deploy keys: Jenkins writes the deploy repo and reads the sources; each Argo CD only reads.
    links = lab.gitlab.keys[jenkins_key]["links"]
    assert links == {deploy["id"]: True, **{lab.gitlab.project(f"shop/{s}")["id"]: False for s in SERVICES}}
    public = sshkeys.public_key(vault.get(names.jenkins_deploy_key_key("shop")))
    assert sshkeys.same_key(lab.gitlab.keys[jenkins_key]["key"], public)
    for env in ENVS:
        key = next(v for v in lab.gitlab.keys.values() if v["title"] == f"dockyard:shop:argocd-{env}")
        assert key["links"] == {deploy["id"]: False}
        # the vault key the argocd phase fills the repository Secret from (dockyard.gitops.names.deploy_key)
        assert sshkeys.same_key(key["key"], sshkeys.public_key(vault.get(f"argocd.{env}.deploy_key.shop")))
    # Jenkins: folder credentials hold the vault's values; jobs carry the webhook token.
    creds = lab.jenkins.credentials["shop"]
    assert creds["harbor-push"]["secrets"]["password"] == vault.get(names.robot_secret_key("shop", "push"))
    assert creds["gitlab-deploy-key"]["secrets"]["privateKey"] == vault.get(names.jenkins_deploy_key_key("shop"))
    # the project's own build account (its namespace only), not the cloud's kubeconfig
    kubeconfig = base64.b64decode(creds["build-kubeconfig"]["secrets"]["secretBytes"]).decode()
    assert kubeconfig == lab.project_kubeconfig != lab.kubeconfig
    job = ET.fromstring(lab.jenkins.items["shop/cart"]["xml"])  # noqa: S314 (XML seed wrote)
    assert job.findtext(".//secretToken") == token
    assert job.find("definition").get("class") == "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
    cloud = lab.jenkins.casc["jenkins"]["clouds"][0]["kubernetes"]
    assert cloud["credentialsId"] == "dockyard-build-cluster" and cloud["webSocket"] is True
    assert [c["name"] for c in cloud["templates"][0]["containers"]] == ["buildah", "git"]
    assert lab.jenkins.casc["security"]["gitHostKeyVerificationConfiguration"]  # GitLab's host keys
    system = lab.jenkins.system_credential("dockyard-build-cluster")
    assert system is not None and base64.b64decode(system["secretBytes"]).decode() == lab.kubeconfig


def test_a_changed_spec_produces_exactly_the_expected_update(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    lab.edit_spec(lambda spec: spec.update(dockyard_registry={"keep_last": 20}))
    lab.reset_counts()
    changed = seed()
    assert changed.rc == 0, changed.err
    assert [
        (c["tool"], c["kind"], c["name"], c["action"]) for c in changed.doc["changes"] if c["action"] != "noop"
    ] == [("harbor", "retention-policy", "shop", "update")]
    # one write for the policy, one for the anchor robot that records the new settings digest
    assert [m for m, _ in lab.writes()["harbor"]] == ["PUT", "PUT"]
    assert lab.writes()["gitlab"] == [] and lab.writes()["jenkins"] == []
    (project,) = lab.harbor.projects.values()
    assert lab.harbor.retentions[int(project["metadata"]["retention_id"])]["rules"][0]["params"] == {
        "latestPushedK": 20
    }
    assert seed().doc["summary"]["update"] == 0


def test_prod_switching_to_auto_sync_reopens_direct_pushes_to_the_deploy_repo(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    lab.edit_spec(lambda spec: spec["dockyard_environments"]["prod"].update(sync="auto"))
    changed = seed()
    # prod now follows main (its Applications track HEAD); main's protection was never prod's
    assert changed.actions("update") == [("gitlab", "repository", "shop/shop-deploy")]
    assert changed.actions("create") == changed.actions("delete") == []
    deploy = lab.gitlab.project("shop/shop-deploy")
    levels = {a["access_level"] for a in lab.gitlab.branches[deploy["id"]]["main"]["push_access_levels"]}
    assert levels == {40}


def test_a_new_service_creates_exactly_its_objects(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    lab.edit_spec(lambda spec: spec["dockyard_projects"][0]["services"].append({"name": "api", "port": 9000}))
    changed = seed()
    assert changed.rc == 0, changed.err
    assert set(changed.actions("create")) == {
        ("gitlab", "repository", "shop/api"),
        ("gitlab", "repository-content", "shop/api"),
        ("gitlab", "deploy-key", "shop/api dockyard:shop:jenkins (read)"),
        ("gitlab", "protected-branch", "shop/api main"),
        ("gitlab", "protected-tag", "shop/api build/*"),
        ("gitlab", "protected-tag", "shop/api release/*"),
        ("gitlab", "hook", "shop/api dockyard-jenkins"),
        ("jenkins", "job", "shop/api"),
    }
    assert changed.actions("update") == changed.actions("delete") == []


def test_prune_removes_only_what_dockyard_created(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    # Objects somebody else made, in each tool, with names seed would never give them.
    lab.gitlab.groups[900] = {
        **lab.gitlab.groups[min(lab.gitlab.groups)],
        "id": 900,
        "path": "legacy",
        "full_path": "legacy",
    }
    lab.gitlab.group_attrs[900] = {}
    lab.harbor.projects[900] = {
        **next(iter(lab.harbor.projects.values())),
        "project_id": 900,
        "name": "legacy",
        "metadata": {"public": "true"},
    }
    lab.jenkins.items["legacy"] = {
        "_class": "com.cloudbees.hudson.plugins.folder.Folder",
        "description": "hand made",
        "xml": "<x/>",
    }
    # The spec drops service web and environment stage from project shop.
    lab.edit_spec(
        lambda spec: spec["dockyard_projects"][0].update(
            services=[{"name": "cart", "port": 8080}], environments=["dev", "prod"]
        )
    )
    kept = seed()
    assert kept.rc == 0, kept.err
    assert kept.actions("delete") == []
    left = {(s["tool"], s["name"]) for s in kept.doc["skipped"] if s["kind"] == "not-in-spec"}
    assert left == {
        ("gitlab", "repository shop/web"),
        ("gitlab", "deploy-key shop/web dockyard:shop:jenkins"),
        ("gitlab", "deploy-key shop/shop-deploy dockyard:shop:argocd-stage"),
        ("harbor", "robot robot$shop+pull-stage"),
        ("jenkins", "job shop/web"),
    }
    assert "shop/web" in {p["path_with_namespace"] for p in lab.gitlab.projects.values()}

    pruned = seed(prune=True)
    assert pruned.rc == 0, pruned.err
    assert set(pruned.actions("delete")) == {
        ("gitlab", "repository", "shop/web"),
        ("gitlab", "deploy-key", "shop/shop-deploy dockyard:shop:argocd-stage"),
        ("harbor", "robot", "robot$shop+pull-stage"),
        ("jenkins", "job", "shop/web"),
    }
    assert "shop/web" not in {p["path_with_namespace"] for p in lab.gitlab.projects.values()}
    assert 900 in lab.gitlab.groups and 900 in lab.harbor.projects and "legacy" in lab.jenkins.items
    assert "robot$shop+pull-stage" not in {r["name"] for r in lab.harbor.robots.values()}
    assert lab.vault().get(names.robot_secret_key("shop", "pull-stage")) is None
    assert seed(prune=True).doc["summary"]["delete"] == 0


def test_prune_of_a_whole_project(lab: SeedLab, seed: Seed) -> None:
    lab.edit_spec(
        lambda spec: spec["dockyard_projects"].append({"name": "blog", "services": [{"name": "site", "port": 80}]})
    )
    lab.vault().set("kube.dev.build-kubeconfig.blog", lab.project_kubeconfig)  # the argocd phase's, for blog
    assert seed().rc == 0
    lab.edit_spec(lambda spec: spec.update(dockyard_projects=spec["dockyard_projects"][:1]))
    pruned = seed(prune=True)
    assert pruned.rc == 0, pruned.err
    assert {c for c in pruned.actions("delete") if c[0] != "gitlab" or c[1] != "deploy-key"} == {
        ("harbor", "project", "blog"),
        ("gitlab", "repository", "blog/site"),
        ("gitlab", "repository", "blog/blog-deploy"),
        ("gitlab", "group", "blog"),
        ("jenkins", "folder", "blog"),
    }
    assert "blog" not in {p["name"] for p in lab.harbor.projects.values()}
    assert "blog" not in lab.jenkins.items and not any(
        p["path_with_namespace"].startswith("blog/") for p in lab.gitlab.projects.values()
    )
    assert "shop" in lab.jenkins.items and seed(prune=True).doc["summary"]["delete"] == 0


@pytest.mark.parametrize(
    ("tool", "method", "path"),
    [
        ("harbor", "POST", r"^/api/v2\.0/retentions$"),
        ("harbor", "POST", r"^/api/v2\.0/robots$"),
        ("gitlab", "POST", r"/hooks$"),
        ("gitlab", "PATCH", r"/protected_branches/main$"),
        ("gitlab", "PUT", r"/custom_attributes/dockyard_state$"),
        ("jenkins", "POST", r"/createCredentials$"),
        ("jenkins", "POST", r"/job/shop/createItem$"),
        ("jenkins", "POST", r"^/configuration-as-code/configure$"),
    ],
)
def test_when_a_call_fails_mid_run_the_next_run_completes(
    lab: SeedLab, seed: Seed, tool: str, method: str, path: str
) -> None:
    lab.servers[tool].fail(method, path, status=500, times=1)
    broken = seed()
    assert broken.rc == 1
    assert broken.doc["failures"] and broken.doc["failures"][0].startswith(f"{tool}: ")
    assert f"seed FAILED: {tool}: " in broken.err
    repaired = seed()
    assert repaired.rc == 0, repaired.err
    assert repaired.doc["summary"]["create"] + repaired.doc["summary"]["update"] > 0
    lab.reset_counts()
    again = seed()
    assert again.doc["summary"]["create"] == again.doc["summary"]["update"] == 0
    assert lab.writes() == {"gitlab": [], "harbor": [], "jenkins": []}
    # the state is complete: one of everything, secrets where they belong
    assert len(lab.harbor.robots) == 4 and len(lab.gitlab.hooks[lab.gitlab.project("shop/web")["id"]]) == 1
    assert set(lab.jenkins.credentials["shop"]) == {"harbor-push", "gitlab-deploy-key", "build-kubeconfig"}


def test_rotate_gives_robots_new_secrets_and_updates_their_consumers(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    before = lab.vault().get(names.robot_secret_key("shop", "push"))
    rotated = seed(rotate=True)
    assert rotated.rc == 0, rotated.err
    assert {c[2] for c in rotated.actions("update") if c[1] == "robot-secret"} == {
        "robot$shop+push",
        *(f"robot$shop+pull-{e}" for e in ENVS),
    }
    assert ("jenkins", "credential", "shop/harbor-push") in rotated.actions("update")
    after = lab.vault().get(names.robot_secret_key("shop", "push"))
    assert after != before
    push_id = next(i for i, r in lab.harbor.robots.items() if r["name"] == "robot$shop+push")
    assert lab.harbor.robot_secrets[push_id] == after
    assert lab.jenkins.credentials["shop"]["harbor-push"]["secrets"]["password"] == after
    assert seed().doc["summary"]["update"] == 0


def test_a_harbor_that_picks_its_own_secrets_is_followed(lab: SeedLab, seed: Seed) -> None:
    lab.harbor.honour_given_secret = False
    assert seed().rc == 0
    push_id = next(i for i, r in lab.harbor.robots.items() if r["name"] == "robot$shop+push")
    assert lab.harbor.robot_secrets[push_id] == lab.vault().get(names.robot_secret_key("shop", "push"))
    assert lab.jenkins.credentials["shop"]["harbor-push"]["secrets"]["password"] == lab.harbor.robot_secrets[push_id]
    assert seed().doc["summary"]["update"] == 0


def test_a_lost_vault_secret_is_repaired(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    lab.vault().delete(names.robot_secret_key("shop", "pull-dev"))
    repaired = seed()
    assert ("harbor", "robot-secret", "robot$shop+pull-dev") in repaired.actions("update")
    rid = next(i for i, r in lab.harbor.robots.items() if r["name"] == "robot$shop+pull-dev")
    assert lab.harbor.robot_secrets[rid] == lab.vault().get(names.robot_secret_key("shop", "pull-dev"))


def test_deep_reads_everything_and_finds_drift(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    cart = lab.gitlab.project("shop/cart")["id"]
    lab.gitlab.hooks[cart].clear()  # someone deletes a hook by hand
    assert seed().doc["summary"]["create"] == 0  # the digest is trusted: the hook is not read
    lab.reset_counts()
    deep = seed(deep=True)
    assert deep.actions("create") == [("gitlab", "hook", "shop/cart dockyard-jenkins")]
    assert lab.counts()["gitlab"]["read"] > 3
    assert seed(deep=True).doc["summary"]["create"] == 0


def test_dry_run_writes_nothing_and_shows_the_wiring(lab: SeedLab, seed: Seed) -> None:
    vault_file = lab.tree / "platform" / "group_vars" / "all" / "vault.yml"
    before = vault_file.read_bytes()
    plan = seed(dry_run=True)
    assert plan.rc == 0, plan.err
    assert plan.doc["dry_run"] is True and plan.doc["summary"]["create"] > 0
    assert lab.writes() == {"gitlab": [], "harbor": [], "jenkins": []}
    assert vault_file.read_bytes() == before
    keys = {w["vault_key"]: w for w in plan.doc["wiring"]}
    push = keys["harbor.robot.shop-push"]
    assert push["source"] == "Harbor robot robot$shop+push"
    assert [c["where"] for c in push["consumers"]] == ["Jenkins credential shop/harbor-push"]
    assert [c["where"] for c in keys["harbor.robot.shop-pull-dev"]["consumers"]] == [
        "image pull Secret harbor-pull in namespace shop of dev"
    ]
    assert "harbor.robot.shop-pull-prod" not in keys  # --env dev shows dev's wiring and the shared one
    argocd = keys["argocd.dev.deploy_key.shop"]["consumers"][0]["where"]
    assert argocd.startswith("Argo CD repository Secret for git@") and argocd.endswith(
        "shop/shop-deploy.git in Argo CD of dev"
    )
    text = seed(dry_run=True, text=True)
    assert "dry run, nothing is changed" in text.out and "wiring" in text.out
    assert "    -> Jenkins credential shop/harbor-push [seed]" in text.out


def test_no_secret_appears_in_output_logs_or_json(lab: SeedLab, seed: Seed, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    outputs = [seed(), seed(text=True), seed(rotate=True, text=True), seed(dry_run=True), seed(dry_run=True, text=True)]
    lab.servers["gitlab"].fail("POST", r"/hooks$", status=500)
    lab.edit_spec(lambda spec: spec["dockyard_projects"][0]["services"].append({"name": "api", "port": 1}))
    outputs.append(seed(text=True))
    secrets = [
        *_secret_values(lab),
        lab.gitlab.token,
        lab.harbor.password,
        lab.jenkins.api_token,
        *lab.harbor.robot_secrets.values(),
    ]
    secrets += [line for s in list(secrets) for line in s.splitlines() if len(line) >= 16]
    everything = "\n".join([*(o.out + o.err for o in outputs), caplog.text])
    assert len(secrets) > 10
    leaked = [s[:4] + "..." for s in secrets if len(s) >= 6 and s in everything]
    assert leaked == []


def test_an_unreachable_tool_is_skipped_with_its_reason(lab: SeedLab, seed: Seed) -> None:
    lab.servers["gitlab"].stop()
    result = seed(text=True)
    assert result.rc == 1
    assert "gitlab   tool" in result.out and "not reachable" in result.out
    assert "seed INCOMPLETE" in result.err
    assert lab.harbor.projects and lab.jenkins.items  # the others were seeded


def test_tls_is_verified_against_the_ca_the_spec_names(
    lab: SeedLab, seed: Seed, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = TestTls(tmp_path_factory.mktemp("other-ca"))

    def wrong_ca(spec: dict[str, Any]) -> None:
        spec["dockyard_tools"]["harbor"]["ca_file"] = str(other.ca_path)

    lab.edit_spec(wrong_ca)
    result = seed()
    assert result.rc == 1
    assert any("harbor: TLS verification failed" in f for f in result.doc["failures"])
    assert lab.harbor.projects == {}


def test_the_deploy_repo_starts_from_the_generator(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    deploy = lab.gitlab.project("shop/shop-deploy")
    _inv, platform = cli.load(lab.root, str(lab.tree), "dev")
    expected = deploy_repo.deploy_repo_files(platform, platform.projects[0])
    assert set(lab.gitlab.files[deploy["id"]]) == set(expected)


def test_json_is_one_document(lab: SeedLab, seed: Seed) -> None:
    result = seed()
    doc = json.loads(result.out)
    assert set(doc) >= {"changes", "summary"}
    assert set(doc["summary"]) == {"create", "update", "delete", "noop"}
    assert all(set(c) == {"tool", "kind", "name", "action"} for c in doc["changes"])
    assert sum(doc["summary"].values()) == len(doc["changes"])


def test_jenkins_keeps_clouds_and_system_credentials_it_does_not_own(lab: SeedLab, seed: Seed) -> None:
    lab.jenkins.casc = {
        "jenkins": {"clouds": [{"kubernetes": {"name": "team-x", "serverUrl": "https://k8s.example:6443"}}]},
        "credentials": {
            "system": {
                "domainCredentials": [
                    {"credentials": [{"string": {"scope": "GLOBAL", "id": "slack", "secret": "s3cr3t-slack-token"}}]}
                ]
            }
        },
    }
    assert seed().rc == 0
    clouds = [c["kubernetes"]["name"] for c in lab.jenkins.casc["jenkins"]["clouds"]]
    assert clouds == ["team-x", "dockyard"]
    ids = [
        b["id"]
        for d in lab.jenkins.casc["credentials"]["system"]["domainCredentials"]
        for c in d["credentials"]
        for b in c.values()
    ]
    assert ids == ["slack", "dockyard-build-cluster"]
    slack = lab.jenkins.casc["credentials"]["system"]["domainCredentials"][0]["credentials"][0]["string"]
    assert slack["secret"] == "s3cr3t-slack-token"  # round-tripped through the encrypted export


def test_without_a_build_cluster_kubeconfig_the_cloud_is_skipped(lab: SeedLab, seed: Seed) -> None:
    lab.vault().delete("kube.dev.jenkins-kubeconfig")
    lab.vault().delete("kube.dev.build-kubeconfig.shop")
    result = seed()
    assert result.rc == 1
    skipped = {(s["kind"], s["name"]) for s in result.doc["skipped"]}
    assert {
        ("cloud", "kubernetes/dockyard"),
        ("system-credential", "system/dockyard-build-cluster"),
        ("credential", "shop/build-kubeconfig"),
    } <= skipped
    assert set(lab.jenkins.credentials["shop"]) == {"harbor-push", "gitlab-deploy-key"}
    lab.store_admin_credentials()
    assert seed().rc == 0
    assert set(lab.jenkins.credentials["shop"]) == {"harbor-push", "gitlab-deploy-key", "build-kubeconfig"}


def test_the_harbor_double_checks_requests_against_the_swagger(lab: SeedLab) -> None:
    response = requests.post(
        lab.servers["harbor"].url + "/api/v2.0/projects",
        json={"project_name": "x", "metadata": {"auto_scan": True}},  # metadata values are strings
        auth=(lab.harbor.username, lab.harbor.password),
        verify=str(lab.tls.ca_path),
        timeout=10,
    )
    assert response.status_code == 400
    assert lab.harbor.violations and "metadata/auto_scan" in lab.harbor.violations[0]
    lab.harbor.violations.clear()


def test_seeded_kubeconfig_reaches_jenkins_only_as_the_vault_value(lab: SeedLab, seed: Seed) -> None:
    assert seed().rc == 0
    exported = yaml.safe_load(yaml.safe_dump(lab.jenkins.casc))
    assert exported["jenkins"]["clouds"][0]["kubernetes"]["serverUrl"] == "https://192.0.2.20:6443"


def test_bootstrap_ends_with_seed(lab: SeedLab, capsys: pytest.CaptureFixture[str]) -> None:
    inv, platform = cli.load(lab.root, str(lab.tree), "dev")
    assert seed_after_bootstrap(lab.root, inv, platform) == 0
    out = capsys.readouterr().out
    assert "seed: harbor   project" in out and "seed: 47 create, 0 update, 0 delete, 0 noop (changed 47)" in out
    assert seed_after_bootstrap(lab.root, inv, platform) == 0
    assert capsys.readouterr().out.strip().splitlines() == ["seed: 0 create, 0 update, 0 delete, 47 noop (changed 0)"]


def test_bootstrap_reports_tools_it_cannot_seed_yet(
    lab: SeedLab, capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    samples = tmp_path_factory.mktemp("samples") / "inventories"
    shutil.copytree(ROOT / "inventories", samples, ignore=shutil.ignore_patterns("local", "vault.yml"))
    inv, platform = cli.load(lab.root, str(samples), "dev")  # the samples: every tool mode install
    assert seed_after_bootstrap(lab.root, inv, platform) == 0
    out = capsys.readouterr().out
    for tool in ("harbor", "gitlab", "jenkins"):
        assert (
            f"seed: {tool:8} tool  skip    {tool}: mode install, but this version of Dockyard has no roles/{tool}"
            in out
        )
    assert out.strip().endswith("3 skipped")
    assert lab.harbor.projects == {}


def test_objects_that_existed_before_seed_are_adopted_but_never_pruned(lab: SeedLab, seed: Seed) -> None:
    ca = str(lab.tls.ca_path)
    harbor, gitlab, jenkins = (lab.servers[t].url for t in ("harbor", "gitlab", "jenkins"))
    harbor_auth = (lab.harbor.username, lab.harbor.password)

    def harbor_post(path: str, body: dict[str, Any]) -> int:
        return requests.post(f"{harbor}/api/v2.0{path}", json=body, auth=harbor_auth, verify=ca, timeout=10).status_code

    # What an operator made by hand before Dockyard came: the Harbor project, a robot, the GitLab
    # group and the Jenkins folder, all with the names seed uses.
    assert harbor_post("/projects", {"project_name": "shop"}) == 201
    pull = {"kind": "project", "namespace": "shop", "access": [{"resource": "repository", "action": "pull"}]}
    robot = {"name": "pull-prod", "level": "project", "duration": -1, "permissions": [pull], "description": "by hand"}
    assert harbor_post("/robots", robot) == 201
    group = requests.post(
        f"{gitlab}/api/v4/groups",
        json={"name": "shop", "path": "shop", "visibility": "internal"},
        headers={"PRIVATE-TOKEN": lab.gitlab.token},
        verify=ca,
        timeout=10,
    )
    assert group.status_code == 201
    folder = requests.post(
        f"{jenkins}/createItem?name=shop",
        data=f"<{FOLDER}><description>by hand</description></{FOLDER}>".encode(),
        headers={"Content-Type": "text/xml"},
        auth=(lab.jenkins.user, lab.jenkins.api_token),
        verify=ca,
        timeout=10,
    )
    assert folder.status_code == 200
    first = seed()
    assert first.rc == 0, first.err
    updated = set(first.actions("update"))
    assert {("harbor", "project", "shop"), ("harbor", "robot", "robot$shop+pull-prod")} <= updated
    assert {("gitlab", "group", "shop"), ("jenkins", "folder", "shop")} <= updated
    assert next(iter(lab.gitlab.groups.values()))["visibility"] == "private"
    assert seed().doc["summary"]["update"] == 0
    lab.edit_spec(lambda spec: spec["dockyard_projects"][0].update(environments=["dev", "stage"]))
    pruned = seed(prune=True)
    assert ("harbor", "robot", "robot$shop+pull-prod") not in pruned.actions("delete")
    assert "robot$shop+pull-prod" in {r["name"] for r in lab.harbor.robots.values()}
    lab.edit_spec(lambda spec: spec.update(dockyard_projects=[]))
    gone = seed(prune=True)
    deleted = {(tool, kind) for tool, kind, _ in gone.actions("delete")}
    # only what seed itself created: robots, repositories, jobs and credentials; not the adopted containers
    assert deleted == {("harbor", "robot"), ("gitlab", "repository"), ("jenkins", "job"), ("jenkins", "credential")}
    assert [p["name"] for p in lab.harbor.projects.values()] == ["shop"]
    groups = [g["path"] for g in lab.gitlab.groups.values() if g["path"] != "dockyard"]  # the platform's own stays
    assert groups == ["shop"] and "shop" in lab.jenkins.items
    assert {s["name"] for s in gone.doc["skipped"]} == set()  # adopted objects are not even offered for pruning
    # the adopted folder's recorded state is forgotten with what was pruned from it
    assert parse_marker(lab.jenkins.items["shop"]["description"]) == {"created": "no"}
    lab.edit_spec(
        lambda spec: spec.update(dockyard_projects=[{"name": "shop", "services": [{"name": "cart", "port": 1}]}])
    )
    back = seed()
    assert back.rc == 0, back.err
    assert {
        ("jenkins", "credential", f"shop/{c}") for c in ("harbor-push", "gitlab-deploy-key", "build-kubeconfig")
    } <= set(back.actions("create"))
