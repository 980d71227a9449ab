"""Lookup plugin: facts about the platform that roles need, computed by src/dockyard.

    {{ lookup('dockyard_platform', 'service_addresses') }}    {fqdn: ip} of the platform's services
    {{ lookup('dockyard_platform', 'addresses_without_dns') }}  the same with dockyard_dns false, else {}
    {{ lookup('dockyard_platform', 'cert_requests') }}        server certificates the internal CA issues
    {{ lookup('dockyard_platform', 'internal_registries') }}  registries the platform runs (host[:port])
    {{ lookup('dockyard_platform', 'spec') }}                 the dockyard_* variables, without the vault
    {{ lookup('dockyard_platform', 'mirror') }}               {present, fqdn, port, registry} of the mirror
    {{ lookup('dockyard_platform', 'kube_api') }}             the cluster's API endpoint, SANs and networks
    {{ lookup('dockyard_platform', 'kubeconfig') }}           the controller's admin kubeconfig of the env

The spec is read from the play's variables (inventory, vars files or extra vars alike); host
addresses from ``dockyard_address`` or ``ansible_host`` of each host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from dockyard import service_names
from dockyard.gitops.settings import kubeconfig_path
from dockyard.problems import DockyardError
from dockyard.spec.cluster import kube_api
from dockyard.spec.variables import build, mirror_facts, spec_from

DOCUMENTATION = """
name: dockyard_platform
short_description: platform facts computed from the Dockyard spec
description:
  - service_addresses, cert_requests or internal_registries, from the dockyard_* variables.
options:
  _terms:
    description: which fact
    required: true
"""

FACTS = (
    "service_addresses",
    "addresses_without_dns",
    "cert_requests",
    "internal_registries",
    "spec",
    "mirror",
    "kube_api",
    "kubeconfig",
)


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        if len(terms) != 1 or terms[0] not in FACTS:
            raise AnsibleLookupError(f"dockyard_platform: give one of {', '.join(FACTS)}")
        v = variables or {}
        templar = self._templar
        spec = spec_from(v, templar.template)
        groups = templar.template(v.get("groups", {}))
        hostvars = v.get("hostvars", {})

        def address_of(name: str) -> str:
            other = hostvars[name]
            return str(other.get("dockyard_address") or other.get("ansible_host") or name)

        if terms[0] == "spec":
            return [{k: val for k, val in spec.items() if k != "dockyard_secrets"}]
        try:
            platform = build(spec)
            env = spec.get("dockyard_env")
            if terms[0] == "service_addresses":
                return [service_names.service_addresses(platform, groups, address_of, env)]
            if terms[0] == "addresses_without_dns":  # what the controller resolves itself (as seed does)
                return [{} if platform.dns else service_names.service_addresses(platform, groups, address_of, env)]
            if terms[0] == "kubeconfig":  # relative paths start at the repository (playbook_dir's parent)
                root = Path(str(v.get("playbook_dir", "."))).resolve().parent
                return [str(kubeconfig_path(root, spec, str(env)))]
            if terms[0] == "kube_api":
                control_planes = [(n, address_of(n)) for n in groups.get("kube_control_plane", [])]
                return [kube_api(spec, control_planes)]
            if terms[0] == "mirror":
                return [mirror_facts(platform, groups)]
            if terms[0] == "cert_requests":
                return [
                    [
                        {"name": r.name, "dns_names": list(r.dns_names), "ip_addresses": list(r.ip_addresses)}
                        for r in service_names.cert_requests(platform, groups, address_of, env)
                    ]
                ]
            return [service_names.internal_registries(platform, groups)]
        except (DockyardError, KeyError) as exc:
            raise AnsibleLookupError(
                f"dockyard_platform: {exc} (check the spec with `invoke validate --env ENV`)"
            ) from None
