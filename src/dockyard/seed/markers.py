"""The machine-readable marker seed leaves in descriptions: ``[dockyard key=value ...]``.

Used where a tool has no better place for it (Harbor robots, Jenkins items and credentials). It
records that an object is Dockyard's (``created=yes`` when seed made it), and fingerprints or
digests that let seed tell whether it is up to date without reading secrets back.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[dockyard ([^\]]*)\]")


def format_marker(fields: dict[str, str]) -> str:
    return "[dockyard " + " ".join(f"{k}={v}" for k, v in sorted(fields.items())) + "]"


def parse_marker(text: str | None) -> dict[str, str] | None:
    """The fields of the marker in ``text``, or None when there is no marker."""
    match = _MARKER.search(text or "")
    if not match:
        return None
    return dict(part.split("=", 1) for part in match.group(1).split() if "=" in part)
