"""Ansible module documentation of dockyard_gitlab_plan. The work happens on the controller, in the
action plugin of the same name, which uses dockyard.tools.gitlab_upgrade."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dockyard_gitlab_plan
short_description: The GitLab package to install and the upgrade hops along the required stops
description:
  - Runs on the controller. Reads the merged catalogue (component gitlab - edition, version and its deb
    artefacts) and the installed package versions, and returns what to install.
  - Fails, before anything changes, on a downgrade, an edition change, a version that does not parse,
    or a required stop the catalogue has no package for.
options:
  dpkg_status:
    type: str
    default: ""
    description: "What dpkg-query says of gitlab-ce and gitlab-ee, one line each: package|status|version."
  os_release:
    type: str
    required: true
    description: The host's OS release as the catalogue names it (debian-12, ubuntu-24.04).
  arch:
    type: str
    required: true
    description: The host's Debian architecture (amd64, arm64).
"""

RETURN = r"""
edition: {description: ce or ee., type: str, returned: always}
package: {description: gitlab-ce or gitlab-ee., type: str, returned: always}
version: {description: The catalogue's version., type: str, returned: always}
installed: {description: The installed version, empty when none., type: str, returned: always}
artefact: {description: The target package as the dockyard_artefact lookup resolves it., type: dict, returned: always}
hops:
  description: Upgrade hops in order (each a resolved artefact plus reason); empty for a fresh install or no change.
  type: list
  returned: always
"""
