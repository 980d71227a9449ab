"""Seed the installed (stand-in) Harbor from the controller across the lab network, twice.

Uses what `invoke seed` uses for a tool in mode install: the admin credential the harbor role stored
in the vault (harbor.admin_token), the internal CA, the seed reconcilers. Only the URL differs: the
controller has no DNS for harbor.<domain> in this lab, so it connects to the host's address, which
the internal CA's certificate carries as a SAN (TLS is verified). Exits 1 unless the first run
creates and the second is all noop; prints the two summaries, never a secret.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import yaml

from dockyard.secrets import Vault
from dockyard.seed import access, content, run
from dockyard.spec.variables import build


def main() -> int:
    root, work, address = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    spec = yaml.safe_load((root / "tests/molecule/shared/spec.yml").read_text())
    spec.pop("dockyard_state_dir")
    platform = build(spec)
    vault = Vault(work / "vault.yml", Path(os.environ["ANSIBLE_VAULT_PASSWORD_FILE"]).read_bytes().strip())
    got = access.tool_access(platform, "harbor", vault, root=root, state_dir=work / "dockyard-state", environ={})
    if isinstance(got, access.Unavailable):
        print(f"harbor unavailable: {got.reason}")
        return 1
    assert got.url == "https://harbor.molecule.test", got.url
    harbor = dataclasses.replace(got, url=f"https://{address}")
    summaries = []
    for _ in range(2):
        report = run.seed(
            platform,
            vault,
            {"harbor": harbor},
            run.SeedOptions(),
            versions={},
            deploy_content=lambda project: content.deploy_repo_content(platform, project),
            only=("harbor",),
        )
        summaries.append(report.summary_line())
        print(f"seed harbor: {report.summary_line()}")
        if report.failures:
            print("\n".join(report.failures))
            return 1
    first, second = summaries
    return 0 if not first.startswith("0 create") and second.startswith("0 create, 0 update, 0 delete") else 1


if __name__ == "__main__":
    sys.exit(main())
