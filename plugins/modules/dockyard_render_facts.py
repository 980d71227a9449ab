"""Ansible module documentation of dockyard_render_facts (the action plugin of the same name does the work)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dockyard_render_facts
short_description: Assume a supported host's facts where the fact cache has none (for invoke render --configs)
description:
  - Runs on the controller. Sets architecture x86_64, service_mgr systemd, Debian 12 (bookworm), apt,
    for every fact the cache does not already hold, so host configuration files render without a host.
options: {}
"""

RETURN = r"""
assumed: {description: The facts that were assumed., type: list, elements: str, returned: always}
"""
