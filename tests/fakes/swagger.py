"""Request/response validation against a Swagger 2.0 document (used by the Harbor TEST DOUBLE).

Each request is matched to an operation of the vendored swagger (method and path template); its
query parameters must be ones the operation declares, with the declared types; its body must
validate against the body parameter's schema, and a body sent where none is declared is an error.
Each response status must be declared, and its body must validate against the declared schema.
Schemas are checked with ``jsonschema`` (Draft 4, which Swagger 2.0 schemas are a subset of);
``x-nullable: true`` admits null. Deviations from the document are listed in ``overrides`` with
the reason; the Harbor double documents each one.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

Override = Callable[[dict[str, Any]], None]  # edits the definitions in place


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    regex: re.Pattern[str]
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.spec.get("operationId", f"{self.method} {self.template}"))


class SwaggerValidator:
    def __init__(self, path: Path, overrides: list[Override] | None = None) -> None:
        doc = yaml.safe_load(path.read_text())
        self.base_path: str = doc.get("basePath", "")
        self._parameters: dict[str, Any] = doc.get("parameters", {})
        self._responses: dict[str, Any] = doc.get("responses", {})
        definitions = copy.deepcopy(doc.get("definitions", {}))
        for override in overrides or []:
            override(definitions)
        self._definitions = {name: _nullable(schema) for name, schema in definitions.items()}
        self.operations: list[Operation] = []
        for template, item in doc.get("paths", {}).items():
            regex = re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$")
            for method, spec in item.items():
                if method in ("get", "put", "post", "delete", "patch", "head"):
                    self.operations.append(Operation(method.upper(), template, regex, spec))
        # Literal paths win over templated ones (/projects/x/_deletable vs /projects/{id}).
        self.operations.sort(key=lambda op: op.template.count("{"))

    def operation(self, method: str, path: str) -> Operation | None:
        for op in self.operations:
            if op.method == method and op.regex.match(path):
                return op
        return None

    def _params(self, op: Operation) -> list[dict[str, Any]]:
        params = []
        for param in op.spec.get("parameters", []):
            ref = param.get("$ref")
            params.append(self._parameters[ref.rsplit("/", 1)[-1]] if ref else param)
        return params

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {**_nullable(copy.deepcopy(schema)), "definitions": self._definitions}

    def check_request(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[Operation | None, list[str]]:
        op = self.operation(method, path)
        if op is None:
            return None, [f"{method} {path}: no such operation in the swagger"]
        problems: list[str] = []
        params = self._params(op)
        declared = {p["name"]: p for p in params if p.get("in") == "query"}
        for name, values in query.items():
            if name not in declared:
                problems.append(f"{op.name}: query parameter {name!r} is not declared")
                continue
            problems += [f"{op.name}: query {name}: {e}" for e in _scalar_problems(declared[name], values[-1])]
        body_params = [p for p in params if p.get("in") == "body"]
        if body_params:
            if body is None and body_params[0].get("required"):
                problems.append(f"{op.name}: request body is required")
            elif body is not None:
                errors = jsonschema.Draft4Validator(self._schema(body_params[0]["schema"])).iter_errors(body)
                problems += [f"{op.name}: request body: {_where(e)}: {e.message}" for e in errors]
        elif body is not None:
            problems.append(f"{op.name}: takes no request body")
        return op, problems

    def check_response(self, op: Operation, status: int, body: Any) -> list[str]:
        responses = op.spec.get("responses", {})
        declared = responses.get(str(status)) or responses.get("default")
        if declared is None:
            return [f"{op.name}: status {status} is not a declared response"]
        if "$ref" in declared:
            declared = self._responses[declared["$ref"].rsplit("/", 1)[-1]]
        schema = declared.get("schema")
        if schema is None:
            return [] if body is None else [f"{op.name}: {status}: body sent where the swagger declares none"]
        errors = jsonschema.Draft4Validator(self._schema(schema)).iter_errors(body)
        return [f"{op.name}: response {status}: {_where(e)}: {e.message}" for e in errors]


def _nullable(schema: Any) -> Any:
    """Swagger's ``x-nullable: true`` as JSON Schema: null is also allowed."""
    if isinstance(schema, dict):
        out = {k: _nullable(v) for k, v in schema.items()}
        if out.get("x-nullable") and "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        return out
    if isinstance(schema, list):
        return [_nullable(v) for v in schema]
    return schema


def _scalar_problems(param: dict[str, Any], value: str) -> list[str]:
    kind = param.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            return [f"{value!r} is not an integer"]
        number = int(value)
        if "maximum" in param and number > param["maximum"]:
            return [f"{number} is above the maximum {param['maximum']}"]
        if "minimum" in param and number < param["minimum"]:
            return [f"{number} is below the minimum {param['minimum']}"]
    if kind == "boolean" and value not in ("true", "false"):
        return [f"{value!r} is not a boolean"]
    return []


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(root)"
