"""The kubeadm CLI as its generated reference pages document it (tests/reference/kubeadm, v1.35), as a
standin_lib.parse spec: documented subcommand -> {flags: {flag: takes_value}, args: (min, max)}.

Built from each page's ``kubeadm ...`` synopsis and its "Options" and "Options inherited from parent
commands" tables (``<td colspan="2">--flag type</td>``: a flag with a type takes a value). Used by the
stand-in kubeadm and by the tests that check every kubeadm command line the roles run.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from tests.kube_schema import REFERENCE

GENERATED = REFERENCE / "kubernetes-website/content/en/docs/reference/setup-tools/kubeadm/generated"
_SYNOPSIS = re.compile(r"```\n(kubeadm [^\n\[]+?)(?:\s+\[[^\n]*)?\n```")
_FLAG = re.compile(r'<td colspan="2">(?:(-[a-z]), )?(--[a-z0-9-]+)(?: ([a-zA-Z0-9]+))?')

# init phases listed in kubeadm_init/_index.md ("certs/apiserver ... Generate the certificate for
# serving the Kubernetes API") whose own pages are not in the reference set; kubeadm-certs.md runs
# phases as `kubeadm init phase certs all --config config.yaml`, so --config is what they take here.
PHASES_FROM_INIT_INDEX = {"init phase certs apiserver": {"--config": True}}


def _page(path: Path) -> tuple[str, dict[str, bool], int]:
    text = path.read_text()
    synopsis = _SYNOPSIS.search(text)
    assert synopsis, f"{path}: no synopsis"
    line = synopsis[1].strip()
    words = [w for w in line.split() if not w.startswith("[")]
    flags: dict[str, bool] = {}
    for m in _FLAG.finditer(text):
        for name in filter(None, (m[1], m[2])):
            flags[name] = bool(m[3])
    positional = 1 if re.search(r"\[(token|version|api-server-endpoint)\]", synopsis[0]) else 0
    return " ".join(words[1:]), flags, positional


@cache
def kubeadm_spec() -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for path in sorted(GENERATED.glob("*/*.md")):
        sub, flags, positional = _page(path)
        spec[sub] = {"flags": flags, "args": (0, positional)}
    for sub, flags in PHASES_FROM_INIT_INDEX.items():
        assert f"  /{sub.rsplit(' ', 1)[-1]} " in (GENERATED / "kubeadm_init" / "_index.md").read_text()
        spec[sub] = {"flags": flags, "args": (0, 0)}
    return spec
