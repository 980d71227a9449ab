"""A lab for seed tests and the seed benchmark: the three TEST DOUBLES (GitLab, Harbor, Jenkins)
served over HTTPS on 127.0.0.1, and an inventory tree whose tools point at them in external mode.

Nothing here is a real GitLab, Harbor or Jenkins.
"""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from dockyard.inventory import InventoryTree
from dockyard.secrets import Vault, password_file, vault_path
from dockyard.seed.names import admin_token_key
from tests.fakes.gitlab import GitlabDouble
from tests.fakes.harbor import HarborDouble
from tests.fakes.jenkins import JenkinsDouble
from tests.fakes.server import DoubleServer, TestTls

ROOT = Path(__file__).resolve().parents[2]
JENKINS_TOKEN_ENV = "DOCKYARD_TEST_JENKINS_TOKEN"
SPEC_FILE = Path("platform/group_vars/all/dockyard.yml")


class SeedLab:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.tls = TestTls(base / "tls")
        self.gitlab = GitlabDouble(token="glpat-" + secrets.token_urlsafe(20))
        self.harbor = HarborDouble(password="Hb1-" + secrets.token_urlsafe(16))
        self.jenkins = JenkinsDouble(api_token="11" + secrets.token_hex(16))
        self.servers = {
            "gitlab": DoubleServer(self.gitlab, self.tls).start(),
            "harbor": DoubleServer(self.harbor, self.tls).start(),
            "jenkins": DoubleServer(self.jenkins, self.tls).start(),
        }
        self.root = base / "root"  # stands in for the repository root: .dockyard/ lives here
        self.root.mkdir(parents=True, exist_ok=True)
        self.tree = base / "inventories"
        self.kubeconfig = self._kubeconfig()
        self.project_kubeconfig = self._kubeconfig("dockyard-builds-shop")

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    # ------------------------------------------------------------------------- the inventory
    def write_tree(self, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
        """A copy of the sample inventories with every tool external, pointing at the doubles."""
        if not self.tree.exists():
            shutil.copytree(ROOT / "inventories", self.tree, ignore=shutil.ignore_patterns("local", "vault.yml"))
        path = self.tree / SPEC_FILE
        spec = yaml.safe_load((ROOT / "inventories" / SPEC_FILE).read_text())
        spec["dockyard_tools"] = {
            "gitlab": {"mode": "external", "url": self.servers["gitlab"].url, "ca_file": str(self.tls.ca_path)},
            "harbor": {"mode": "external", "url": self.servers["harbor"].url, "ca_file": str(self.tls.ca_path)},
            "jenkins": {
                "mode": "external",
                "url": self.servers["jenkins"].url,
                "ca_file": str(self.tls.ca_path),
                "token_env": JENKINS_TOKEN_ENV,
            },
        }
        if change:
            change(spec)
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        hosts = self.tree / "platform" / "hosts.yml"
        hosts.write_text("---\nall:\n  children:\n    mirror:\n      hosts: {}\n")
        return self.tree

    def edit_spec(self, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.tree / SPEC_FILE
        spec = yaml.safe_load(path.read_text())
        change(spec)
        path.write_text(yaml.safe_dump(spec, sort_keys=False))

    def jenkins_env(self) -> dict[str, str]:
        return {JENKINS_TOKEN_ENV: f"{self.jenkins.user}:{self.jenkins.api_token}"}

    def vault(self, env: str = "dev") -> Vault:
        state = self.root / ".dockyard"
        pw = password_file(state).read_bytes().strip()
        return Vault(vault_path(InventoryTree(self.tree), env), pw)

    def store_admin_credentials(self, build_env: str = "dev") -> None:
        """Admin credentials for GitLab and Harbor in the vault (Jenkins' comes from the environment),
        and the build cluster's kubeconfig, as the cluster phase would leave it."""
        self.vault().set_many(
            {
                admin_token_key("gitlab"): self.gitlab.token,
                admin_token_key("harbor"): f"{self.harbor.username}:{self.harbor.password}",
                f"kube.{build_env}.jenkins-kubeconfig": self.kubeconfig,
                # as the argocd phase of the build environment leaves it: the project's own account
                f"kube.{build_env}.build-kubeconfig.shop": self.project_kubeconfig,
            }
        )

    def store_known_hosts(self) -> None:
        """GitLab's SSH host keys where Dockyard keeps them (a made-up key: nothing connects over SSH here)."""
        path = self.root / ".dockyard" / "gitlab" / "ssh_known_hosts"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "gitlab.platform.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDockyardTestDoubleHostKey00\n"
        )

    def _kubeconfig(self, namespace: str = "dockyard-builds") -> str:
        ca = base64.b64encode(self.tls.ca_path.read_bytes()).decode()
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "dev", "cluster": {"server": "https://192.0.2.20:6443", "certificate-authority-data": ca}}
                ],
                "users": [{"name": "jenkins", "user": {"token": "kube-" + secrets.token_urlsafe(24)}}],
                "contexts": [
                    {
                        "name": "jenkins@dev",
                        "context": {"cluster": "dev", "user": "jenkins", "namespace": namespace},
                    }
                ],
                "current-context": "jenkins@dev",
            }
        )

    # ----------------------------------------------------------------------------- counting
    def counts(self) -> dict[str, dict[str, int]]:
        return {tool: server.counts() for tool, server in self.servers.items()}

    def writes(self) -> dict[str, list[tuple[str, str]]]:
        return {tool: server.writes() for tool, server in self.servers.items()}

    def reset_counts(self) -> None:
        for server in self.servers.values():
            server.reset_counts()

    def violations(self) -> list[str]:
        return [*self.gitlab.violations, *self.harbor.violations, *self.jenkins.violations]
