"""TEST CODE (never shipped): which settings a gitlab.rb sets, checked against omnibus-gitlab's
gitlab.rb.template (every supported setting, commented out, in ../shared/reference/gitlab/omnibus/).

Used by the unit tests on the controller and carried inside the stand-in gitlab package, whose
``gitlab-ctl reconfigure`` refuses a gitlab.rb that sets a key the template does not have. Standard
library only (it runs on the lab host with Debian's python3).

A key is the setting's path: ``external_url``, ``letsencrypt.enable``,
``gitlab_rails.nginx.ssl_certificate``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

# `name['a']['b'] = ...` (an attribute, possibly nested) or `name 'value'` (a top-level directive).
_ASSIGN = re.compile(r"""^\s*([a-z_][a-z0-9_]*)((?:\[\s*['"][^'"]+['"]\s*\])+)\s*(?:=|<<)""")
_DIRECTIVE = re.compile(r"""^\s*([a-z_][a-z0-9_]*)\s+['"]""")
_SUBKEY = re.compile(r"""\[\s*['"]([^'"]+)['"]\s*\]""")


def _key(line: str) -> str | None:
    m = _ASSIGN.match(line)
    if m:
        return ".".join([m.group(1), *_SUBKEY.findall(m.group(2))])
    m = _DIRECTIVE.match(line)
    return m.group(1) if m else None


def template_keys(template: str) -> set[str]:
    """Every key gitlab.rb.template documents (its lines are commented out: ``# key = value``)."""
    keys = set()
    for raw in template.splitlines():
        line = raw.lstrip()
        if line.startswith("##"):  # prose, not a setting
            continue
        key = _key(line.lstrip("#"))
        if key:
            keys.add(key)
    return keys


def keys_set(rendered: str) -> list[tuple[int, str]]:
    """(line number, key) of every setting a gitlab.rb sets (comments ignored)."""
    found = []
    for number, raw in enumerate(rendered.splitlines(), 1):
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        key = _key(raw)
        if key:
            found.append((number, key))
    return found


def problems(rendered: str, known: set[str], ruby: str = "ruby") -> list[str]:
    """Why omnibus would not accept this gitlab.rb: Ruby syntax errors and unknown keys."""
    out: list[str] = []
    proc = subprocess.run([ruby, "-c", "-e", rendered], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        out.append(f"gitlab.rb: not valid Ruby: {(proc.stderr or proc.stdout).strip()}")
    for number, key in keys_set(rendered):
        if key not in known:
            out.append(f"gitlab.rb:{number}: {key}: not a setting of gitlab.rb.template")
    return out


def main(argv: list[str]) -> int:
    """``gitlab_rb.py GITLAB_RB KEYS_JSON``: exit 1 listing the problems (the stand-in's reconfigure)."""
    with open(argv[1], encoding="utf-8") as fh:
        rendered = fh.read()
    with open(argv[2], encoding="utf-8") as fh:
        known = set(json.load(fh))
    found = problems(rendered, known)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
