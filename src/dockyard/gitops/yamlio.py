"""Deterministic YAML: the one way Dockyard writes YAML files (keys in insertion order, block style,
multi-line strings as literal blocks), so the same input always gives the same bytes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

_BASE: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BASE):  # type: ignore[misc,valid-type]
    """libyaml's emitter when PyYAML has it (fast); the output is the same as the pure one's."""


class _PureDumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


for _cls in (_Dumper, _PureDumper):
    _cls.add_representer(str, _str)


def dump(data: Any, *, pure: bool = False) -> str:
    """One YAML document, without the ``---`` marker."""
    return yaml.dump(
        data,
        Dumper=_PureDumper if pure else _Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )


def dump_all(documents: Iterable[Any]) -> str:
    """Several documents, each starting with ``---``."""
    return "".join(f"---\n{dump(d)}" for d in documents)


def load(text: str | bytes) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)


def load_all(text: str | bytes) -> list[Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [d for d in yaml.load_all(text, Loader=loader) if d is not None]
