#!/usr/bin/python
"""Ansible module: the internal CA and its server certificates, on the controller (dockyard.pki)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: dockyard_pki
short_description: Keep the platform's internal CA and server certificates on the controller
description:
  - Creates the CA once (key 0600, encrypted with ca_key_passphrase), with X.509 name constraints
    (permitted DNS domains and IP addresses); when they change, or an older CA has none, signs the
    CA certificate again with the same key, so issued certificates keep verifying.
  - Then issues one server certificate per request, again only when its SANs change, it was signed
    by another CA, it lies outside the name constraints, or it expires within renew_before_days.
  - Runs where dockyard is importable (delegate to localhost). Never returns key material.
options:
  directory:
    description: PKI directory (ca.crt, ca.key, certs/).
    type: path
    required: true
  ca_common_name:
    description: Common name of the CA when it is created.
    type: str
    required: true
  ca_key_passphrase:
    description: Passphrase of the CA key (from the vault, pki.ca-key-passphrase). Never logged.
    type: str
    required: true
    no_log: true
  permitted_dns_domains:
    description: DNS name constraints of the CA (a domain permits itself and its subdomains).
    type: list
    elements: str
    default: []
  permitted_ip_addresses:
    description: IP addresses the CA may vouch for (each a /32 or /128 name constraint).
    type: list
    elements: str
    default: []
  certificates:
    description: Server certificates to keep.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: File stem of the certificate and key.
        type: str
        required: true
      dns_names:
        description: DNS SANs; the first is also the common name.
        type: list
        elements: str
        required: true
      ip_addresses:
        description: IP SANs.
        type: list
        elements: str
        default: []
  renew_before_days:
    description: Reissue a certificate that expires within this many days.
    type: int
    default: 30
  validity_days:
    description: Lifetime of a new server certificate.
    type: int
    default: 397
  ca_validity_days:
    description: Lifetime of a new CA.
    type: int
    default: 3650
"""

RETURN = r"""
ca_created:
  description: Whether the CA was created by this run.
  type: bool
  returned: always
ca_action:
  description: create, update (re-signed with new name constraints, key encrypted) or noop, and ca_reason.
  type: str
  returned: always
certificates:
  description: Per certificate name, the action taken (create, reissue, noop) and why.
  type: dict
  returned: always
ca_certificate:
  description: >-
    The CA certificate (PEM, public). In check mode before the CA exists, a placeholder that says
    the first bootstrap creates it, so tasks that install it show as to be created.
  type: str
  returned: always
"""

CHECK_MODE_PLACEHOLDER = "# The internal CA does not exist yet: the first bootstrap creates it.\n"

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "ca_common_name": {"type": "str", "required": True},
            "ca_key_passphrase": {"type": "str", "required": True, "no_log": True},
            "permitted_dns_domains": {"type": "list", "elements": "str", "default": []},
            "permitted_ip_addresses": {"type": "list", "elements": "str", "default": []},
            "certificates": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "dns_names": {"type": "list", "elements": "str", "required": True},
                    "ip_addresses": {"type": "list", "elements": "str", "default": []},
                },
            },
            "renew_before_days": {"type": "int", "default": 30},
            "validity_days": {"type": "int", "default": 397},
            "ca_validity_days": {"type": "int", "default": 3650},
        },
        supports_check_mode=True,
    )
    try:
        from pathlib import Path  # noqa: PLC0415

        from dockyard import pki  # noqa: PLC0415
    except ImportError as exc:
        module.fail_json(msg=f"dockyard is not importable on this host ({exc}); delegate to localhost")
        return
    p = module.params
    directory = Path(p["directory"])
    if module.check_mode and not (directory / "ca.key").exists():
        results = {c["name"]: {"action": "create", "reason": "new"} for c in p["certificates"]}
        module.exit_json(
            changed=True,
            ca_created=True,
            ca_action="create",
            ca_reason="new",
            certificates=results,
            ca_certificate=CHECK_MODE_PLACEHOLDER,
        )
        return
    policy = pki.CaPolicy(
        p["ca_common_name"],
        p["ca_key_passphrase"].encode(),
        tuple(p["permitted_dns_domains"]),
        tuple(p["permitted_ip_addresses"]),
        p["ca_validity_days"],
    )
    try:
        ca_result = pki.ensure_ca(directory, policy, check=module.check_mode)
    except (pki.CaError, ValueError) as exc:
        module.fail_json(msg=str(exc))
        return
    ca, created = ca_result.ca, ca_result.action == "create"
    results = {}
    for cert in p["certificates"]:
        request = pki.CertRequest(cert["name"], tuple(cert["dns_names"]), tuple(cert["ip_addresses"]))
        result = pki.ensure_cert(
            ca,
            request,
            renew_before_days=p["renew_before_days"],
            validity_days=p["validity_days"],
            check=module.check_mode,
        )
        results[result.name] = {"action": result.action, "reason": result.reason}
    changed = ca_result.action != "noop" or any(r["action"] != "noop" for r in results.values())
    module.exit_json(
        changed=changed,
        ca_created=created,
        ca_action=ca_result.action,
        ca_reason=ca_result.reason,
        certificates=results,
        ca_certificate=(directory / "ca.crt").read_text(),
    )


if __name__ == "__main__":
    main()
