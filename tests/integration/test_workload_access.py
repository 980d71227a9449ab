"""Issue 14, finding 3: the argocd phase writes the image pull Secrets and each project's build
namespace, account and kubeconfig, against the Kubernetes API TEST DOUBLE (real client, real HTTP)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from dockyard import inventory, secrets
from dockyard.gitops import phase
from tests.fakes.kube_api import KubeAPI

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZSBrZXk=\n-----END OPENSSH PRIVATE KEY-----\n"


def test_pull_secrets_and_per_project_build_accounts(isolated_root: Path, edit_spec: Callable[..., Path]) -> None:
    def two(spec: dict[str, Any]) -> None:
        spec["dockyard_projects"].append(
            {"name": "pay", "environments": ["dev"], "services": [{"name": "api", "port": 80}]}
        )

    tree = edit_spec(two)
    state = isolated_root / ".dockyard"
    secrets.use_password_file(state)
    vault = secrets.Vault.open(inventory.InventoryTree(tree), "dev", state)
    vault.set_many(
        {
            "argocd.dev.deploy_key.shop": KEY,
            "argocd.dev.deploy_key.pay": KEY,
            "argocd.dev.deploy_key.argocd-apps": KEY,
            "harbor.robot.shop-pull-dev": "Shop1PullSecret",
            "harbor.robot.pay-pull-dev": "Pay1PullSecret",
        }
    )
    spec = inventory.load(inventory.InventoryTree(tree), "dev").spec
    options = phase.PhaseOptions(install_chart=False, api_timeout_s=2)
    with KubeAPI(token="dev-token") as api:
        api.create_namespace("argocd")
        api.kubeconfig(state / "kubeconfig" / "dev.yaml")
        result = phase.run(isolated_root, spec, "dev", inventory.InventoryTree(tree), options=options)
        assert result.changed and not result.skipped, result
        # image pull Secrets, from the vault, in each project's namespace of dev
        for project, secret in (("shop", "Shop1PullSecret"), ("pay", "Pay1PullSecret")):
            pull = api.objects("secrets", project)["harbor-pull"]
            assert pull["type"] == "kubernetes.io/dockerconfigjson"
            config = json.loads(base64.b64decode(pull["data"][".dockerconfigjson"]))
            entry = config["auths"]["harbor.platform.example.com"]
            assert (entry["username"], entry["password"]) == (f"robot${project}+pull-dev", secret)
        # each project builds in its own namespace, with an account limited to it
        vault = secrets.Vault.open(inventory.InventoryTree(tree), "dev", state)
        tokens = {}
        for project in ("shop", "pay"):
            ns = f"dockyard-builds-{project}"
            assert "jenkins-build" in api.objects("serviceaccounts", ns)
            role = api.objects("roles", ns)["jenkins-build"]
            assert {r["resources"][0] for r in role["rules"]} == {"pods", "pods/exec", "pods/log", "events"}
            binding = api.objects("rolebindings", ns)["jenkins-build"]
            assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "jenkins-build", "namespace": ns}]
            assert binding["roleRef"]["kind"] == "Role"  # not a ClusterRole: this namespace only
            kubeconfig = yaml.safe_load(vault.get(f"kube.dev.build-kubeconfig.{project}"))
            context = kubeconfig["contexts"][0]["context"]
            assert context["namespace"] == ns
            token = kubeconfig["users"][0]["user"]["token"]
            assert api.account_tokens[token] == (ns, "jenkins-build")
            tokens[project] = token
        assert tokens["shop"] != tokens["pay"]
        again = phase.run(isolated_root, spec, "dev", inventory.InventoryTree(tree), options=options)
        assert not again.changed, again.messages
