"""Ansible module documentation of dockyard_argocd. The work happens on the controller, in the action
plugin of the same name (plugins/action/dockyard_argocd.py), which calls dockyard.gitops.phase: the
module code Ansible ships to a host could not import Dockyard's controller-side code."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dockyard_argocd
short_description: Install Argo CD (Helm, pyhelm3) and apply an environment's Argo CD objects
description:
  - Runs on the controller. Uses the environment's kubeconfig (dockyard_kubeconfig, default
    <state_dir>/kubeconfig/<env>.yaml), or the central environment's with layout central.
  - When that kubeconfig does not exist or the API server does not answer, changes nothing and
    returns skipped_reason.
  - Otherwise installs or upgrades the argo-cd chart where an Argo CD runs in the environment's cluster
    (idempotent, atomic), applies the environment's AppProjects, Secrets and Applications with
    server-side apply (field manager dockyard) and prunes Dockyard's objects that left the spec.
  - Secrets come from the vault and the internal CA's files inside the module; none passes through
    its arguments or its result. Check mode reports what would change, with redacted diffs.
options:
  env: {type: str, required: true, description: The environment.}
  spec: {type: dict, required: true, description: "The dockyard_* variables, without dockyard_secrets."}
  root: {type: path, required: true, description: The Dockyard repository (relative paths start there).}
  inventory_source: {type: path, required: true, description: "An -i source of the run: finds the vault."}
  install_chart: {type: bool, default: true, description: Install or upgrade the argo-cd chart.}
  chart_ref: {type: str, default: "", description: "Chart location; empty: the catalogue's (or the mirror's)."}
  helm: {type: path, default: helm, description: The helm executable.}
  helm_timeout: {type: str, default: 10m, description: How long helm waits for readiness.}
  api_timeout_s: {type: float, default: 5, description: How long to wait for the API server to answer.}
  service_addresses: {type: dict, default: {}, description: "FQDN -> IP when there is no DNS (dockyard_dns: false)."}
"""

RETURN = r"""
skipped_reason: {description: Why nothing was done (empty when the phase ran)., type: str, returned: always}
messages: {description: What was done or would be done., type: list, elements: str, returned: always}
waiting_on_seed:
  description:
    - Objects kept as they are because credentials invoke seed stores (GitLab deploy keys, Harbor robot
      secrets) are not in the vault yet; in check mode, the ones that would be kept. 0 when none, or skipped.
    - The role then asks invoke bootstrap, with set_stats dockyard_after_seed, to run the phase again after seed.
  type: int
  returned: always
"""
