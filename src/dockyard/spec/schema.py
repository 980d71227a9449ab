"""JSON schema of the platform spec: the ``dockyard_*`` Ansible variables.

Types, required keys, enums and name rules live here; rules that need more than one value at a
time (cross references) live in :mod:`dockyard.spec.validate`. ``x-fix`` is our own annotation:
the hint shown to the operator when a value breaks the rule it sits on.
"""

from __future__ import annotations

from typing import Any

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# SSO group names go into Argo CD's policy.csv: no comma, quote, space or line break can pass.
SSO_GROUP = r"^[A-Za-z0-9][A-Za-z0-9._@:/=+-]{0,254}$"
SSO_GROUP_FIX = "use letters, digits and . _ @ : / = + - only (no spaces, commas, quotes or line breaks)"
DNS_LABEL_FIX = (
    "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
)
# Kubernetes Service names are DNS-1035 labels: they start with a letter.
DNS_1035_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS_1035_FIX = "use lowercase letters, digits and '-', starting with a letter, at most 63 characters"
DNS_NAME = r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$"
DNS_NAME_FIX = "use a lowercase DNS name such as platform.example.com"
# An exact, pinned version: no ranges, wildcards or 'latest'. Covers semver, Debian package versions
# (1.6.20~ds1-1+deb12u3), GitLab (19.3.0-ce.0) and Jenkins plugin versions (4423.vb_59f230b_ce53).
PINNED_VERSION = r"^v?[0-9]+(\.[0-9A-Za-z_]+)*([-+~][0-9A-Za-z_.+~-]+)?$"
SHA256 = r"^[0-9a-f]{64}$"
GO_DURATION = r"^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$"
CRON = r"^\S+(\s+\S+){4}$"

_dns_label: dict[str, Any] = {"type": "string", "pattern": DNS_LABEL, "x-fix": DNS_LABEL_FIX}
_url_https: dict[str, Any] = {
    "type": "string",
    "pattern": r"^https://[^\s/]+(/\S*)?$",
    "x-fix": "give the https:// URL of the service (TLS verification is always on)",
}
_string_list: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

SYNC_WINDOW: dict[str, Any] = {
    # Field names are Argo CD's own (AppProject spec.syncWindows[], CRD v3.4.4).
    "type": "object",
    "required": ["kind", "schedule", "duration"],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": ["allow", "deny"]},
        "schedule": {
            "type": "string",
            "pattern": CRON,
            "x-fix": "give a 5-field cron expression such as '0 22 * * 1-5'",
        },
        "duration": {"type": "string", "pattern": GO_DURATION, "x-fix": "give a duration such as 1h or 90m"},
        "applications": _string_list,
        "namespaces": _string_list,
        "clusters": _string_list,
        "manualSync": {"type": "boolean"},
        "timeZone": {"type": "string"},
        "andOperator": {"type": "boolean"},
        "description": {"type": "string"},
    },
}

ENVIRONMENT: dict[str, Any] = {
    "type": "object",
    "required": ["sync"],
    "additionalProperties": False,
    "properties": {
        "sync": {"enum": ["auto", "manual"]},
        "sync_windows": {"type": "array", "items": SYNC_WINDOW},
        "namespace_prefix": {
            "type": "string",
            "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?-?)?$",
            "x-fix": "use lowercase letters, digits and '-', such as 'dev-'",
        },
        "description": {"type": "string"},
    },
}

SERVICE: dict[str, Any] = {
    "type": "object",
    "required": ["name", "port"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": DNS_1035_LABEL, "x-fix": DNS_1035_FIX},  # its Kubernetes Service
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "x-fix": "use a port between 1 and 65535"},
        "hostname": _dns_label,  # first label of <hostname>.<env>.<domain>; default <service>-<project>
        "ingress": {"type": "boolean"},
        "replicas": {"type": "integer", "minimum": 0, "maximum": 100},
        "health_path": {"type": "string", "pattern": r"^/\S*$", "x-fix": "give an HTTP path such as /healthz"},
        "resources": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "requests": {"$ref": "#/$defs/resource_list"},
                "limits": {"$ref": "#/$defs/resource_list"},
            },
        },
        "description": {"type": "string"},
    },
}

PROJECT: dict[str, Any] = {
    "type": "object",
    "required": ["name", "services"],
    "additionalProperties": False,
    "properties": {
        "name": _dns_label,
        "description": {"type": "string"},
        "services": {"type": "array", "minItems": 1, "items": SERVICE},
        "environments": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        # Cluster-scoped resources the project's Argo CD AppProject may create, besides its own Namespace
        # (Argo CD's clusterResourceWhitelist items). Default: none.
        "cluster_resources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["group", "kind"],
                "additionalProperties": False,
                "properties": {
                    "group": {"type": "string", "x-fix": "give the API group, '' for the core group"},
                    "kind": {
                        "type": "string",
                        "pattern": r"^[A-Z][A-Za-z0-9]*$",
                        "x-fix": "give a Kind such as ClusterRole",
                    },
                    "name": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}

TOOL: dict[str, Any] = {
    "type": "object",
    "required": ["mode"],
    "additionalProperties": False,
    "properties": {
        "mode": {"enum": ["install", "external"]},
        "url": _url_https,
        "hostname": _dns_label,
        "ca_file": {"type": "string"},
        "token_env": {
            "type": "string",
            "pattern": r"^[A-Z_][A-Z0-9_]*$",
            "x-fix": "name an environment variable such as DOCKYARD_GITLAB_TOKEN",
        },
    },
    "if": {"properties": {"mode": {"const": "external"}}},
    "then": {"required": ["url"]},
}

# A git tag glob for the CI tag rules: '*' matches anything (also '/'), '?' one character.
TAG_GLOB: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9._/*?-]+$",
    "x-fix": "give a tag glob such as 'release/*' (letters, digits, '.', '_', '-', '/', '*', '?')",
}

CI: dict[str, Any] = {
    # How Jenkins builds every service; read by the seed (job parameters, GitLab tag protection).
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "build_tag": TAG_GLOB,  # builds and tests (default build/*)
        "release_tag": TAG_GLOB,  # also pushes to Harbor and bumps the first environment (default release/*)
        "image_tag": {"enum": ["commit", "build-number", "datetime"]},  # default commit (short SHA)
        "build_env": _dns_label,  # whose cluster runs the build pods (default: the first environment)
        "bump_env": _dns_label,  # whose values.yaml a release build bumps (default: the first environment)
        "build_namespace": _dns_label,  # prefix of each project's build namespace (default dockyard-builds)
        # Who may create build and release tags in GitLab (both patterns are protected).
        "build_tag_creators": {"enum": ["developers", "maintainers"]},  # default developers
        "release_tag_creators": {"enum": ["developers", "maintainers"]},  # default maintainers
    },
}

REGISTRY: dict[str, Any] = {
    # Harbor project settings for every project.
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "scan_on_push": {"type": "boolean"},  # default true
        "keep_last": {"type": "integer", "minimum": 1, "maximum": 10000},  # tag retention, default 10
        "retention_schedule": {
            "type": "string",
            "pattern": r"^\S+(\s+\S+){5}$",
            "x-fix": "give Harbor's 6-field cron (seconds first), such as '0 0 3 * * *'",
        },
        # Robot accounts expire this many days after seed (re)issues them; seed renews them before.
        "robot_expiry_days": {"type": "integer", "minimum": 7, "maximum": 3650},  # default 90
    },
}

MINIMUMS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cpus", "memory_mb", "disk_gb"],
    "properties": {
        "cpus": {"type": "integer", "minimum": 1},
        "memory_mb": {"type": "integer", "minimum": 128},
        "disk_gb": {"type": "integer", "minimum": 1},
    },
}

IPV4 = r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$"
_cidr: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[0-9.]+/[0-9]{1,2}$",
    "x-fix": "give an IPv4 network in CIDR notation, such as 10.244.0.0/16",
}

CLUSTER: dict[str, Any] = {
    # Networks of the environment's cluster (kubeadm networking.podSubnet / serviceSubnet, Calico's pool).
    "type": "object",
    "additionalProperties": False,
    "properties": {"pod_cidr": _cidr, "service_cidr": _cidr},
}

PHASE_NAMES = [
    "common",
    "internal_ca",
    "mirror",
    "containerd",
    "kubernetes",
    "cni",
    "ingress",
    "tools",
    "argocd",
    "seed",
]


def _kind_needs(kind: str, *keys: str) -> dict[str, Any]:
    return {"if": {"properties": {"kind": {"const": kind}}}, "then": {"required": list(keys)}}


ARTEFACT: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "sha256"],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": ["file", "deb", "image", "chart", "jenkins-plugin", "os-package"]},
        "url": {"type": "string", "pattern": r"^https://\S+$", "x-fix": "give the upstream https:// download URL"},
        "ref": {
            "type": "string",
            "pattern": r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+:[\w.-]+$",
            "x-fix": "give a tagged image reference such as registry.k8s.io/pause:3.10 (its digest goes in sha256)",
        },
        "package": {"type": "string"},
        "version": {
            "type": "string",
            "pattern": PINNED_VERSION,
            "x-fix": "pin an exact version, not a range or 'latest'",
        },
        "arch": {"enum": ["amd64", "arm64", "all"]},
        "os_release": {"type": "string", "pattern": r"^(debian|ubuntu)-[0-9.]+$", "x-fix": "e.g. debian-12"},
        "phases": {"type": "array", "items": {"enum": PHASE_NAMES}},
        "sha256": {
            "anyOf": [{"type": "string", "pattern": SHA256}, {"const": "unknown"}, {"const": "apt"}],
            "x-fix": "give the sha256 upstream publishes (64 hex), 'unknown' with unknown_reason, or 'apt'",
        },
        "sha256_source": {"type": "string"},
        "unknown_reason": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        # jenkins-plugin: its dependencies (plugin id -> minimum version, or any) and where they were read
        "requires": {"type": "object", "additionalProperties": {"type": "string"}},
        "requires_source": {"type": "string", "minLength": 1},
    },
    "allOf": [
        {"if": {"properties": {"sha256": {"const": "unknown"}}}, "then": {"required": ["unknown_reason"]}},
        {"if": {"properties": {"sha256": {"pattern": SHA256}}}, "then": {"required": ["sha256_source"]}},
        _kind_needs("file", "url"),
        _kind_needs("chart", "url"),
        _kind_needs("jenkins-plugin", "url"),
        _kind_needs("deb", "url", "package", "arch", "os_release"),
        _kind_needs("image", "ref"),
        _kind_needs("os-package", "package"),
    ],
}

COMPONENT: dict[str, Any] = {
    "type": "object",
    "required": ["artefacts", "phases"],
    "additionalProperties": False,
    "properties": {
        "version": {
            "type": "string",
            "pattern": PINNED_VERSION,
            "x-fix": "pin an exact version, not a range or 'latest'",
        },
        "description": {"type": "string"},
        # GitLab: ce or ee (the package is gitlab-<edition>).
        "edition": {"enum": ["ce", "ee"], "x-fix": "ce (Community Edition) or ee (Enterprise Edition)"},
        "phases": {"type": "array", "minItems": 1, "items": {"enum": PHASE_NAMES}},
        "artefacts": {"type": "object", "minProperties": 1, "additionalProperties": ARTEFACT},
    },
}

SPEC: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "dockyard_domain",
        "dockyard_airgap",
        "dockyard_argocd_layout",
        "dockyard_environments",
        "dockyard_projects",
        "dockyard_tools",
    ],
    "properties": {
        "dockyard_domain": {"type": "string", "pattern": DNS_NAME, "x-fix": DNS_NAME_FIX},
        "dockyard_airgap": {"type": "boolean"},
        "dockyard_dns": {"type": "boolean"},
        "dockyard_env": _dns_label,
        "dockyard_argocd_layout": {"enum": ["one-to-one", "central"]},
        "dockyard_argocd_central_env": _dns_label,
        "dockyard_environments": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": DNS_LABEL},
            "additionalProperties": ENVIRONMENT,
            "x-fix": DNS_LABEL_FIX,
        },
        "dockyard_projects": {"type": "array", "items": PROJECT},
        "dockyard_tools": {
            "type": "object",
            "required": ["gitlab", "harbor", "jenkins"],
            "additionalProperties": False,
            "properties": {"gitlab": TOOL, "harbor": TOOL, "jenkins": TOOL},
        },
        "dockyard_mirror_hostname": _dns_label,
        "dockyard_mirror_registry_port": {"type": "integer", "minimum": 1, "maximum": 65535},
        # The mirror's registry: pull_auth true means every pull needs the read-only account too.
        "dockyard_mirror": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"pull_auth": {"type": "boolean"}},
        },
        # The site's own Debian/Ubuntu mirror for the base OS packages (never in a bundle).
        "dockyard_os_mirror": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "pattern": "^https?://", "x-fix": "e.g. http://debian.site.internal/debian"},
                "security_url": {"type": "string", "pattern": "^https?://"},
            },
        },
        # NTP servers every host syncs with (chrony); required when dockyard_airgap is true.
        "dockyard_time_servers": _string_list,
        # The product's catalogue with the inventory's overrides merged (dockyard.catalogue.merged).
        "dockyard_catalogue": {"type": "object", "additionalProperties": COMPONENT},
        # The only bundle builder this site trusts: the line `invoke bundle.keygen` printed.
        "dockyard_bundle_public_key": {
            "type": "string",
            "pattern": r"^(ssh-ed25519 [A-Za-z0-9+/]+={0,2}( .*)?|-----BEGIN PUBLIC KEY-----[\s\S]*)\s*$",
            "x-fix": "use the 'ssh-ed25519 ...' line that `invoke bundle.keygen` printed",
        },
        "dockyard_state_dir": {"type": "string"},
        # Phases this inventory leaves out, each with the reason (counted as not done by bootstrap).
        "dockyard_skip_phases": {
            "type": "object",
            "propertyNames": {"enum": PHASE_NAMES},
            "additionalProperties": {"type": "string", "minLength": 1},
            "x-fix": "map a phase name to the reason it is left out",
        },
        # Set by invoke for each run: the vault file the dockyard_vault action writes.
        "dockyard_vault_file": {"type": "string"},
        # The vault (group_vars/all/vault.yml, Ansible-Vault encrypted), written by dockyard.secrets.
        "dockyard_secrets": {"type": "object", "additionalProperties": {"type": "string"}},
        "dockyard_preflight_minimums": {
            "type": "object",
            "required": ["gitlab", "harbor", "jenkins", "mirror", "kube_control_plane", "kube_node"],
            "additionalProperties": MINIMUMS,
            "x-fix": "give cpus, memory_mb and disk_gb for each group",
        },
        "dockyard_preflight_max_clock_skew_s": {"type": "number", "minimum": 0},
        # Argo CD and the environment's cluster (see dockyard.gitops.settings for the defaults).
        "dockyard_kubeconfig": {"type": "string", "minLength": 1},
        "dockyard_argocd_central_kubeconfig": {"type": "string", "minLength": 1},
        "dockyard_internal_ca_cert": {"type": "string", "minLength": 1},
        "dockyard_gitlab_ssh_known_hosts_file": {"type": "string", "minLength": 1},
        "dockyard_argocd_ha": {"type": "boolean"},
        "dockyard_argocd_tls_secret": _dns_label,
        "dockyard_argocd_ingress_class": {"type": "string"},
        "dockyard_argocd_prod_sync_groups": {
            "type": "array",
            "items": {"type": "string", "pattern": SSO_GROUP, "x-fix": SSO_GROUP_FIX},
        },
        "dockyard_preflight_ssh_timeout_s": {"type": "number", "minimum": 1},
        "dockyard_ci": CI,
        "dockyard_registry": REGISTRY,
        # The environment's cluster (kubeadm): networks and the API endpoint (see dockyard.spec.cluster).
        "dockyard_cluster": CLUSTER,
        "dockyard_kube_api_lb": {
            "enum": ["kube-vip", "haproxy-local", "external"],
            "x-fix": "use kube-vip (a VIP on the control planes), haproxy-local (a proxy on every node) or external",
        },
        "dockyard_kube_api_vip": {
            "type": "string",
            "pattern": IPV4,
            "x-fix": "give the API endpoint's IPv4 address, such as 192.0.2.10",
        },
        # More names and addresses the API server certificate must hold (Kubespray's
        # supplementary_addresses_in_ssl_keys), e.g. a DNS name for the API added later.
        "dockyard_kube_api_extra_sans": {
            "type": "array",
            "uniqueItems": True,
            "x-fix": "give a list of names and addresses, each once",
            "items": {
                "type": "string",
                "anyOf": [{"pattern": IPV4}, {"pattern": DNS_NAME}],
                "x-fix": "give a lowercase DNS name such as api.example.com or an IPv4 address",
            },
        },
    },
    "$defs": {
        "resource_list": {
            "type": "object",
            "additionalProperties": False,
            # Values are Kubernetes quantities (checked in dockyard.spec.values).
            "properties": {
                "cpu": {"type": ["string", "number"]},
                "memory": {"type": ["string", "integer"]},
                "ephemeral-storage": {"type": ["string", "integer"]},
            },
        },
    },
}


def known_keys() -> set[str]:
    return set(SPEC["properties"])
