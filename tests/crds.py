"""The Argo CD CRD schemas (tests/reference/argocd/crds-v3.4.4), as strict JSON-schema validators.

The API server drops fields a structural schema does not know (and rejects them under strict field
validation), so an unknown field is an error here: every object schema that lists ``properties``
and does not say ``x-kubernetes-preserve-unknown-fields`` gets ``additionalProperties: false``.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRD_DIR = Path(__file__).resolve().parent / "reference" / "argocd" / "crds-v3.4.4"
KINDS = {
    "Application": "application-crd.yaml",
    "AppProject": "appproject-crd.yaml",
    "ApplicationSet": "applicationset-crd.yaml",
}


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def validator(kind: str) -> jsonschema.Draft7Validator:
    crd = yaml.safe_load((CRD_DIR / KINDS[kind]).read_text())
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    return jsonschema.Draft7Validator(schema)


def group_version(kind: str) -> tuple[str, str]:
    crd = yaml.safe_load((CRD_DIR / KINDS[kind]).read_text())
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    return crd["spec"]["group"], version["name"]


def errors(obj: dict[str, Any]) -> list[str]:
    """Schema violations of an Argo CD object, as readable lines (empty when valid)."""
    found = sorted(validator(obj["kind"]).iter_errors(obj), key=lambda e: list(e.absolute_path))
    return [
        f"{obj['kind']} {obj['metadata'].get('name')}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in found
    ]
