"""Ansible module documentation of dockyard_ingress. The work happens on the controller, in the action
plugin of the same name (plugins/action/dockyard_ingress.py), which calls dockyard.ingress."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dockyard_ingress
short_description: Install the ingress controller (Traefik chart, pyhelm3) into an environment's cluster
description:
  - Runs on the controller with the environment's kubeconfig (dockyard_kubeconfig). When it does not
    exist or the API server does not answer, changes nothing and returns skipped_reason.
  - Installs or upgrades the catalogue's traefik chart (idempotent, atomic) as a DaemonSet with
    hostPort 80/443 and the default IngressClass; the image from the catalogue (mirror and digest
    when air-gapped). Check mode reports what would change.
options:
  env: {type: str, required: true, description: The environment.}
  spec: {type: dict, required: true, description: "The dockyard_* variables, without dockyard_secrets."}
  root: {type: path, required: true, description: The Dockyard repository (relative paths start there).}
  helm: {type: path, default: helm, description: The helm executable.}
  helm_timeout: {type: str, default: 10m, description: How long helm waits for readiness.}
  service_addresses: {type: dict, default: {}, description: "FQDN -> IP when there is no DNS (dockyard_dns: false)."}
"""

RETURN = r"""
skipped_reason: {description: Why nothing was done (empty when the phase ran)., type: str, returned: always}
messages: {description: What was done or would be done., type: list, elements: str, returned: always}
"""
