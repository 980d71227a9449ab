"""Strict JSON schemas of the kubeadm, kubelet and kube-proxy configuration files, built from the
upstream config-API references in tests/reference/kubeadm (vendored from ../shared/reference/kubeadm;
kubernetes/website, Kubernetes v1.35):

* every type section (``## `Name` {#anchor}``) with a field table becomes an object schema with
  ``additionalProperties: false`` (an unknown field fails, as kubeadm's strict decoding does);
* each field's type comes from the table: string, bool, int32/int64, []T, map[string]T, a link to
  another section ($ref), an ``(Alias of `string`)`` section, embedded members are merged;
* enums are taken from the field descriptions (ENUMS below, each checked against the text it quotes
  by tests/unit/test_kube_configs.py);
* "[Required]" in these generated pages marks Go fields without ``omitempty``, not keys a file must
  hold (kubeadm and the kubelet default them), so only REQUIRED below is enforced.

Tests only: the product validates nothing with this (real kubeadm does, `kubeadm config validate`).
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

REFERENCE = Path(__file__).resolve().parent / "reference" / "kubeadm"  # vendored from ../shared/reference
CONFIG_API = REFERENCE / "kubernetes-website" / "content" / "en" / "docs" / "reference" / "config-api"
PAGES = {
    "kubeadm.k8s.io/v1beta4": "kubeadm-config.v1beta4.md",
    "kubelet.config.k8s.io/v1beta1": "kubelet-config.v1beta1.md",
    "kubeproxy.config.k8s.io/v1alpha1": "kube-proxy-config.v1alpha1.md",
}
DURATION = {"type": "string", "pattern": r"^(-?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+|0)$"}
# (type, field) -> allowed values, with the words of the reference that state them.
ENUMS: dict[tuple[str, str], tuple[list[str], str]] = {
    ("KubeletConfiguration", "cgroupDriver"): (["cgroupfs", "systemd"], "(cgroupfs\nor systemd)"),
    ("KubeletAuthorization", "mode"): (
        ["AlwaysAllow", "Webhook"],
        "Valid values are <code>AlwaysAllow</code> and <code>Webhook</code>",
    ),
    ("KubeProxyConfiguration", "mode"): (
        ["", "iptables", "ipvs", "nftables", "kernelspace"],
        "<code>iptables</code>, <code>ipvs</code>, and\n<code>nftables</code>",
    ),
    ("NodeRegistrationOptions", "imagePullPolicy"): (
        ["Always", "IfNotPresent", "Never"],
        "must be one of &quot;Always&quot;, &quot;IfNotPresent&quot; or &quot;Never&quot;",
    ),
    ("ClusterConfiguration", "encryptionAlgorithm"): (
        ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"],
        "<code>&quot;RSA-2048&quot;</code> (default), <code>&quot;RSA-3072&quot;</code>",
    ),
}
# Members of Kubernetes API types that these pages embed by link (the Kubernetes API reference).
EXTERNAL_MEMBERS: dict[str, dict[str, Any]] = {
    "core/v1.EnvVar": {"name": {"type": "string"}, "value": {"type": "string"}, "valueFrom": {"type": "object"}},
}
# What kubeadm and the kubelet do refuse without.
REQUIRED: dict[str, list[str]] = {
    "JoinConfiguration": ["discovery"],
    "BootstrapTokenDiscovery": ["token"],
    "Arg": ["name", "value"],
    "KubeletConfiguration": ["containerRuntimeEndpoint"],
}

_SECTION = re.compile(r"^## `(?P<name>[A-Za-z0-9]+)`\s+\{#(?P<anchor>[^}]+)\}\s*$", re.M)
_ROW = re.compile(
    r"<tr><td><code>(?P<field>[^<]+)</code>(?: <B>\[Required\]</B>)?<br/>\s*(?P<type>.*?)\s*</td>"
    r"\s*<td>(?P<desc>.*?)</td>\s*</tr>",
    re.S,
)
_LINK = re.compile(r'<a href="(?P<href>[^"]+)"><code>(?P<text>[^<]+)</code></a>')


def page_text(api_version: str) -> str:
    return (CONFIG_API / PAGES[api_version]).read_text()


@cache
def _sections(api_version: str) -> dict[str, dict[str, Any]]:
    text = page_text(api_version)
    marks = list(_SECTION.finditer(text))
    out: dict[str, dict[str, Any]] = {}
    for i, mark in enumerate(marks):
        body = text[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        alias = re.search(r"\(Alias of `([^`]+)`\)", body)
        rows = [(m["field"], m["type"], m["desc"]) for m in _ROW.finditer(body)]
        out[mark["anchor"]] = {"name": mark["name"], "alias": alias[1] if alias else None, "rows": rows}
    return out


def _anchor_of(api_version: str, name: str) -> str:
    for anchor, section in _sections(api_version).items():
        if section["name"] == name:
            return anchor
    raise KeyError(f"{api_version}: no section {name}")


def _field_type(api_version: str, owner: str, field: str, type_html: str) -> dict[str, Any]:
    if (owner, field) in ENUMS:
        return {"enum": ENUMS[(owner, field)][0]}
    link = _LINK.search(type_html)
    text = html.unescape(link["text"] if link else re.sub(r"<[^>]+>", "", type_html)).strip()
    return _type(api_version, text, link["href"] if link else "")


def _type(api_version: str, text: str, href: str) -> dict[str, Any]:
    if text.startswith("[]"):
        return {"type": "array", "items": _type(api_version, text[2:], href)}
    if text.startswith("map[string]"):
        return {"type": "object", "additionalProperties": _type(api_version, text[len("map[string]") :], href)}
    scalars = {
        "string": {"type": "string"},
        "bool": {"type": "boolean"},
        "int": {"type": "integer"},
        "int32": {"type": "integer"},
        "int64": {"type": "integer"},
        "float": {"type": "number"},
        "float64": {"type": "number"},
        "meta/v1.Duration": DURATION,
        "meta/v1.Time": {"type": "string"},
        "k8s.io/apimachinery/pkg/api/resource.QuantityValue": {"type": ["string", "integer"]},
        "core/v1.PullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
        # core/v1.Taint (not in these pages): the Kubernetes API's Taint fields.
        "core/v1.Taint": {
            "type": "object",
            "additionalProperties": False,
            "required": ["key", "effect"],
            "properties": {
                "key": {"type": "string"},
                "value": {"type": "string"},
                "effect": {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
                "timeAdded": {"type": "string"},
            },
        },
    }
    if text in scalars:
        return scalars[text]
    if href.startswith("#"):
        return {"$ref": f"#/$defs/{href[1:]}"}
    return {"not": {}, "description": f"{text}: not a YAML field Dockyard may set"}


def _object(api_version: str, anchor: str) -> dict[str, Any]:
    section = _sections(api_version)[anchor]
    if section["alias"]:
        return _type(api_version, section["alias"], "")
    props: dict[str, Any] = {}
    for field, type_html, desc in section["rows"]:
        if "are embedded into this type" in desc:
            link = _LINK.search(type_html)
            assert link, (anchor, field)
            props.update(
                _object(api_version, link["href"][1:])["properties"]
                if link["href"].startswith("#")
                else EXTERNAL_MEMBERS[link["text"]]
            )
            continue
        if field in ("apiVersion", "kind"):
            props[field] = {"const": html.unescape(re.sub(r"<[^>]+>", "", desc)).strip()}
            continue
        props[field] = _field_type(api_version, section["name"], field, type_html)
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
    if section["name"] in REQUIRED:
        schema["required"] = REQUIRED[section["name"]]
    return schema


@cache
def schema_of(api_version: str, kind: str) -> dict[str, Any]:
    """The strict schema of one document kind (``kind`` and ``apiVersion`` fixed)."""
    defs = {anchor: _object(api_version, anchor) for anchor in _sections(api_version)}
    top = defs[_anchor_of(api_version, kind)]
    assert top["properties"].get("kind") == {"const": kind}, f"{kind} has no kind row"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **top, "$defs": defs}


def problems(document: dict[str, Any]) -> list[str]:
    """Every way ``document`` breaks its schema (empty: valid)."""
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if api_version not in PAGES:
        return [f"apiVersion {api_version!r} is not one of {sorted(PAGES)}"]
    try:
        schema = schema_of(api_version, kind)
    except KeyError:
        return [f"{api_version}: unknown kind {kind!r}"]
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{kind}: {'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
        for e in validator.iter_errors(document)
    ]
