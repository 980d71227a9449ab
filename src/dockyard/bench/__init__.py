"""Benchmarks anyone can run: `invoke bench WHAT`. Each module registers one with @benchmark.

A benchmark prints what it measured (time, memory, API calls...) and returns an exit code; the
figures worth keeping are written down in docs/performance.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

from dockyard.problems import InvalidInput

Benchmark = Callable[[Path, dict[str, str]], int]
_REGISTRY: dict[str, tuple[Benchmark, str]] = {}


def benchmark(name: str, help_text: str) -> Callable[[Benchmark], Benchmark]:
    def register(fn: Benchmark) -> Benchmark:
        _REGISTRY[name] = (fn, help_text)
        return fn

    return register


def available() -> dict[str, str]:
    _load_all()
    return {name: help_text for name, (_fn, help_text) in sorted(_REGISTRY.items())}


def run(name: str, root: Path, options: dict[str, str]) -> int:
    _load_all()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise InvalidInput(f"unknown benchmark '{name}' (available: {known})")
    return _REGISTRY[name][0](root, options)


def _load_all() -> None:
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"{__name__}.{module.name}")
