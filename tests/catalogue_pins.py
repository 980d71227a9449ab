"""Test pins for the product catalogue's `sha256: unknown` artefacts, for tests that run air-gapped
(where validate refuses unknown pins). The values are obviously fake and say so; they pin nothing real."""

from __future__ import annotations

from typing import Any

from dockyard import catalogue

TEST_PIN = "0" * 64


def unknowns_pinned(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """An inventory override that gives every unknown artefact a fake pin, merged with ``extra``."""
    overrides: dict[str, Any] = {}
    for name, comp in catalogue.product().items():
        for art_id, art in comp["artefacts"].items():
            if art["sha256"] == "unknown":
                overrides.setdefault(name, {"artefacts": {}})["artefacts"][art_id] = {
                    "sha256": TEST_PIN,
                    "sha256_source": "test pin (tests/catalogue_pins.py), not a real checksum",
                }
    for name, comp in (extra or {}).items():
        target = overrides.setdefault(name, {"artefacts": {}})
        for key, value in comp.items():
            if key == "artefacts":
                for art_id, fields in value.items():
                    target["artefacts"].setdefault(art_id, {}).update(fields)
            else:
                target[key] = value
    return overrides
