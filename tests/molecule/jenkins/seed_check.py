"""Seed the installed (stand-in) Jenkins from the controller across the lab network, as `invoke
seed` does for a tool in mode install, then again (all noop), then once more after a JCasC reload
of the role's CASC_JENKINS_CONFIG directory (still all noop: the reload keeps what seed configured).

The same pieces `invoke seed` uses: the admin credential the jenkins role stored in the vault
(jenkins.admin_token), the internal CA (TLS verified, on the service name), the URL from the spec
(https://jenkins.molecule.test, resolved to the host's address as `invoke seed` does without
DNS: dockyard.service_names.resolved_from_inventory), the seed reconcilers with python-jenkins.
What the other phases would have left in the vault is put there first: the build cluster's
kubeconfig for the cloud and the project's own, and GitLab's SSH host keys (made-up values:
nothing here connects to a cluster or to GitLab).
Exits 1 unless the first run creates with nothing skipped and the later runs are all noop; prints
the summaries, never a secret.
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import requests
import yaml

from dockyard import catalogue
from dockyard.secrets import Vault
from dockyard.seed import access, content, names, run
from dockyard.service_names import resolved_from_inventory
from dockyard.spec.model import Platform
from dockyard.spec.variables import build

KNOWN_HOSTS = "gitlab.molecule.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDockyardMoleculeHostKey000000\n"


def kubeconfig(server: str, ca_pem: bytes, user: str, namespace: str) -> str:
    ca = base64.b64encode(ca_pem).decode()
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "build", "cluster": {"server": server, "certificate-authority-data": ca}}],
            "users": [{"name": user, "user": {"token": f"molecule-{user}-token"}}],
            "contexts": [{"name": "build", "context": {"cluster": "build", "user": user, "namespace": namespace}}],
            "current-context": "build",
        }
    )


def main() -> int:
    root, work, state, address = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    spec = yaml.safe_load((root / "tests/molecule/shared/spec.yml").read_text())
    spec.pop("dockyard_state_dir")
    platform = build(spec)
    vault = Vault(work / "vault.yml", Path(os.environ["ANSIBLE_VAULT_PASSWORD_FILE"]).read_bytes().strip())
    env, server, ca = platform.build_env, "https://kube.molecule.test:6443", (state / "pki" / "ca.crt").read_bytes()
    vault.set_many(
        {
            names.kubeconfig_key(env): kubeconfig(server, ca, "jenkins", "dockyard-builds"),
            names.project_kubeconfig_key(env, "shop"): kubeconfig(server, ca, "build", "shop"),
        }
    )
    service = f"jenkins.{platform.domain}"
    # dockyard_dns is false here: the service name resolves to the host, as `invoke seed` does it
    with resolved_from_inventory({service: address}):
        return seed_three_times(platform, vault, root, state, service)


def seed_three_times(platform: Platform, vault: Vault, root: Path, state: Path, service: str) -> int:
    got = access.tool_access(platform, "jenkins", vault, root=root, state_dir=state, environ={})
    if isinstance(got, access.Unavailable):
        print(f"jenkins unavailable: {got.reason}")
        return 1
    assert got.url == f"https://{service}", got.url
    summaries = []
    for attempt in ("first", "again", "after a JCasC reload"):
        if attempt == "after a JCasC reload":
            user, token = got.basic_auth()
            answer = requests.post(
                f"{got.url}/configuration-as-code/reload", auth=(user, token), verify=got.verify, timeout=30
            )
            answer.raise_for_status()
        report = run.seed(
            platform,
            vault,
            {"jenkins": got},
            run.SeedOptions(),
            versions=catalogue.merged(None),  # what `invoke seed` passes: the catalogue with no overrides
            deploy_content=lambda project: content.deploy_repo_content(platform, project),
            known_hosts=KNOWN_HOSTS,
            only=("jenkins",),
        )
        summaries.append(report)
        print(f"seed jenkins ({attempt}): {report.summary_line()}")
        for change in report.changes:
            if attempt == "first" or change.action != "noop":
                print(f"  {change.action} {change.kind} {change.name}")
        for skip in report.skipped:
            print(f"  skipped {skip.kind} {skip.name}: {skip.reason}")
        if report.failures or report.skipped:
            print("\n".join(report.failures))
            return 1
    first, *later = summaries
    kinds = {c.kind for c in first.changes if c.action == "create"}
    wanted = {"folder", "credential", "job", "cloud", "system-credential", "host-key-verification"}
    if not wanted <= kinds:
        print(f"the first run did not create every kind: {sorted(wanted - kinds)}")
        return 1
    return 0 if all(r.writes == 0 for r in later) else 1


if __name__ == "__main__":
    sys.exit(main())
