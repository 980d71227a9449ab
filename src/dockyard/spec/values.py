"""Checks of single values whose rules a JSON-schema pattern cannot say well: Kubernetes resource
quantities, Argo CD sync-window cron expressions and time zones, image references and tool URLs.

Each check returns ``None`` when the value is fine, else ``(what is wrong, how to fix it)``.
"""

from __future__ import annotations

import re
import urllib.parse
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

Finding = tuple[str, str] | None

# Kubernetes resource.Quantity: <number><suffix>, suffix binary (Ki..Ei), decimal (n u m k M G T P E)
# or a decimal exponent (e3). Resource requests and limits may not be negative.
_QUANTITY = re.compile(
    r"(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
QUANTITY_FIX = {
    "cpu": "give CPU as cores or millicores, such as 500m, 0.5 or 2",
    "memory": "give memory in bytes with a suffix, such as 256Mi or 1Gi",
}


def quantity(value: Any) -> Decimal | None:
    """The value of a Kubernetes quantity, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value)) if value >= 0 else None
    if not isinstance(value, str):
        return None
    m = _QUANTITY.fullmatch(value)
    if not m:
        return None
    try:
        number = Decimal(m["num"])
    except InvalidOperation:
        return None
    suffix = m["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    if suffix:
        return number.scaleb(int(suffix[1:]))
    return number


def check_quantity(resource: str, value: Any) -> Finding:
    if quantity(value) is None:
        return f"{value!r} is not a Kubernetes quantity", QUANTITY_FIX.get(resource, "give a quantity such as 500m")
    return None


# -------------------------------------------------------------------------- sync-window schedules

# Argo CD parses sync-window schedules with robfig/cron: five fields (minute hour day-of-month month
# day-of-week) or a descriptor (@daily, @every 1h, ...).
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {m: i + 1 for i, m in enumerate(_MONTHS)},
    ),
    ("day of week", 0, 6, {d: i for i, d in enumerate(_DAYS)}),
)
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_EVERY = re.compile(r"@every ([0-9]+(\.[0-9]+)?(h|m|s|ms|us|ns))+")
CRON_FIX = "give a 5-field cron expression (minute hour day-of-month month day-of-week), such as '0 22 * * 1-5'"


def check_cron(expr: Any) -> Finding:
    if not isinstance(expr, str):
        return None  # the schema reports the type
    text = expr.strip()
    if text in _DESCRIPTORS or _EVERY.fullmatch(text):
        return None
    fields = text.split()
    if len(fields) != len(_FIELDS):
        return f"{expr!r} has {len(fields)} field(s), cron needs 5", CRON_FIX
    for part, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        problem = _cron_field(part, low, high, names)
        if problem:
            return f"{expr!r}: {name} field {part!r}: {problem}", CRON_FIX
    return None


def _cron_field(part: str, low: int, high: int, names: dict[str, int]) -> str | None:
    for item in part.split(","):
        span, _, step = item.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return f"step {step!r} is not a positive number"
        if span in ("*", "?"):
            continue
        start, _, end = span.partition("-")
        bounds = []
        for bit in (start, end) if end else (start,):
            number = names.get(bit.lower()) if bit.lower() in names else (int(bit) if bit.isdigit() else None)
            if number is None:
                return f"{bit!r} is not a number" + (" or a name" if names else "")
            if not low <= number <= high:
                return f"{number} is outside {low}-{high}"
            bounds.append(number)
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            return f"range {span!r} runs backwards"
    return None


def check_time_zone(name: Any) -> Finding:
    if not isinstance(name, str):
        return None
    fix = "give an IANA time zone such as UTC or Europe/Berlin"
    if not name or name.startswith("/") or ".." in name:
        return f"{name!r} is not a time zone", fix
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not a time zone known to the tz database", fix
    return None


# ------------------------------------------------------------------------------ image references

_IMAGE = re.compile(
    r"(?P<name>(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)
IMAGE_FIX = "pin a tag or digest, such as registry.k8s.io/pause:3.10.1 (never latest)"


def check_image(ref: Any) -> Finding:
    if not isinstance(ref, str):
        return None
    m = _IMAGE.fullmatch(ref)
    if not m:
        return f"{ref!r} is not an image reference", IMAGE_FIX
    if not m["tag"] and not m["digest"]:
        return f"{ref!r} has no tag or digest (it would pull whatever latest is)", IMAGE_FIX
    if m["tag"] == "latest" and not m["digest"]:
        return f"{ref!r} uses the moving tag 'latest'", IMAGE_FIX
    return None


# ------------------------------------------------------------------------------------- tool URLs


def check_tool_url(url: Any) -> Finding:
    """An external tool's URL: https, a host (and port), nothing else. Never echoes credentials."""
    if not isinstance(url, str):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL", "give https://HOST or https://HOST:PORT"
    if parts.username is not None or parts.password is not None:
        return (
            "carries credentials (user:password@); they would end up in logs and files",
            "remove them from the URL and give the token through token_env or the vault",
        )
    shown = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return (
            f"{shown!r} has a path, query or fragment; Dockyard talks to the tool at its root",
            f"give only https://{parts.hostname}" + (f":{port}" if port else ""),
        )
    if port == 0:
        return f"{shown!r}: port 0 is not a port", "give a port between 1 and 65535"
    return None


def check_port(value: Any) -> Finding:
    """An SSH port as Ansible takes it (an integer, or a string of digits), 1-65535."""
    fix = "give a port number between 1 and 65535"
    if isinstance(value, bool):
        return f"{value!r} is not a port", fix
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        return f"{value!r} is not a port number", fix
    if not 1 <= value <= 65535:
        return f"{value} is outside 1-65535", fix
    return None
