"""Lookup plugin: where to fetch a catalogued artefact from, upstream or the mirror.

    {{ lookup('dockyard_artefact', 'containerd', 'containerd-static-linux-amd64') }}
    {{ query('dockyard_artefact', 'jenkins_plugins', '*') }}   (every artefact of a component, by id)

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
from dockyard.spec.variables import build, has_mirror, spec_from

DOCUMENTATION = """
name: dockyard_artefact
short_description: resolve a catalogued artefact to its upstream or mirror location
description:
  - Reads dockyard_catalogue, dockyard_airgap and the mirror settings from the play's variables.
options:
  _terms:
    description: component name, then optionally the artefact id (required when it has several; '*' for all)
    required: true
"""


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        if not terms or len(terms) > 2:
            raise AnsibleLookupError("dockyard_artefact: give a component and optionally an artefact id")
        v = variables or {}
        try:
            spec = spec_from(v, self._templar.template)
            source = catalogue.Source.of(build(spec), has_mirror(self._templar.template(v.get("groups", {}))))
            versions = spec.get("dockyard_catalogue") or {}
            if len(terms) > 1 and terms[1] == "*":
                ids = sorted((versions.get(str(terms[0])) or {}).get("artefacts") or {})
                return [catalogue.resolve(catalogue.artefact(versions, str(terms[0]), i), source) for i in ids]
            art = catalogue.artefact(versions, str(terms[0]), str(terms[1]) if len(terms) > 1 else None)
            return [catalogue.resolve(art, source)]
        except (DockyardError, KeyError) as exc:
            raise AnsibleLookupError(f"dockyard_artefact: {exc}") from None
