"""Lookup plugin: where to fetch a catalogued artefact from, upstream or the mirror.

    {{ lookup('dockyard_artefact', 'containerd', 'containerd-static-linux-amd64') }}

returns a dict with ``location`` (URL or image reference to use now), ``checksum``
(``sha256:<hex>`` for ansible.builtin.get_url, or empty when upstream publishes none), ``version``,
``package`` (apt artefacts), ``upstream`` and ``from_mirror``. The logic lives in dockyard.catalogue.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from dockyard import catalogue
from dockyard.problems import DockyardError
from dockyard.spec.model import DEFAULT_MIRROR_HOSTNAME, DEFAULT_MIRROR_REGISTRY_PORT

DOCUMENTATION = """
name: dockyard_artefact
short_description: resolve a catalogued artefact to its upstream or mirror location
description:
  - Reads dockyard_catalogue, dockyard_airgap and the mirror settings from the play's variables.
options:
  _terms:
    description: component name, then optionally the artefact id (required when it has several)
    required: true
"""


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        if not terms or len(terms) > 2:
            raise AnsibleLookupError("dockyard_artefact: give a component and optionally an artefact id")
        v = variables or {}
        templar = self._templar
        get = lambda name, default=None: templar.template(v[name]) if name in v else default  # noqa: E731
        domain = get("dockyard_domain")
        mirror_fqdn = f"{get('dockyard_mirror_hostname', DEFAULT_MIRROR_HOSTNAME)}.{domain}"
        port = get("dockyard_mirror_registry_port", DEFAULT_MIRROR_REGISTRY_PORT)
        has_mirror = bool((get("groups") or {}).get("mirror"))
        source = catalogue.Source(
            airgap=bool(get("dockyard_airgap", False)),
            mirror_fqdn=mirror_fqdn if has_mirror else None,
            mirror_registry=f"{mirror_fqdn}:{port}" if has_mirror else None,
        )
        try:
            art = catalogue.artefact(
                get("dockyard_catalogue") or {}, str(terms[0]), str(terms[1]) if len(terms) > 1 else None
            )
            return [catalogue.resolve(art, source)]
        except DockyardError as exc:
            raise AnsibleLookupError(f"dockyard_artefact: {exc}") from None
