"""The structure the vendored JCasC references document (tests/reference/jenkins): every key path
that appears in their YAML examples (files, and ```yaml blocks of the Markdown docs), lists written
as ``[]``. A JCasC document is checked by requiring each of its key paths to be one of them, so an
attribute in the wrong place, a misspelt one, or one no reference shows, fails."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REFERENCE = Path(__file__).resolve().parent / "reference" / "jenkins"
Path_ = tuple[str, ...]


def paths(node: Any, prefix: Path_ = ()) -> set[Path_]:
    """Every key path of a YAML document (a list level is the step ``[]``)."""
    found: set[Path_] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            here = (*prefix, str(key))
            found.add(here)
            found |= paths(value, here)
    elif isinstance(node, list):
        for item in node:
            found |= paths(item, (*prefix, "[]"))
    return found


def _documents(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    chunks = re.findall(r"```ya?ml\n(.*?)```", text, flags=re.S) if path.suffix in (".md", ".adoc") else [text]
    docs: list[Any] = []
    for chunk in chunks:
        try:
            docs.extend(d for d in yaml.safe_load_all(chunk) if isinstance(d, dict))
        except yaml.YAMLError:
            continue  # a few upstream snippets are fragments; they document nothing checkable
    return docs


@cache
def documented() -> frozenset[Path_]:
    found: set[Path_] = set()
    for path in sorted(REFERENCE.rglob("*")):
        if path.is_file() and path.suffix in (".md", ".yaml", ".yml", ".adoc"):
            for doc in _documents(path):
                found |= paths(doc)
                # the kubernetes plugin's casc test resources and manifests nest JCasC under other keys
                for root in ("jenkins", "credentials", "unclassified", "security", "tool", "jobs"):
                    found |= {p[p.index(root) :] for p in paths(doc) if root in p[1:]}
    return frozenset(found)


def _split(dotted: str) -> Path_:
    return tuple(dotted.replace("[]", ".[]").split("."))


# Attributes the references document in prose, not in a YAML example. Each names the file and the
# words that document it (checked to be there) and, where it has the shape of a documented
# attribute elsewhere, that attribute's path; None: the path itself, and nothing below it.
PROSE: dict[str, tuple[str, str, str | None]] = {
    "jenkins.clouds[].kubernetes.webSocket": (
        "kubernetes-plugin/README.md",
        "If you check **WebSocket** then agents will connect over HTTP(S)",
        None,
    ),
    "jenkins.clouds[].kubernetes.templates[].containers[].envVars": (
        "kubernetes-plugin/README.md",
        "* **envVars** Environment variables that are applied to the container",
        "jenkins.clouds[].kubernetes.templates[].envVars",
    ),
    "credentials.system.domainCredentials[].credentials[].file.description": (
        "configuration-as-code-plugin/demos/credentials/README.md",
        'description: "my secret cert"',  # every credential kind has one (shown on the others)
        None,
    ),
}


def _prose_ok(path: Path_, known: frozenset[Path_]) -> bool:
    for dotted, (file, words, same_as) in PROSE.items():
        prefix = _split(dotted)
        if path[: len(prefix)] != prefix:
            continue
        if words not in (REFERENCE / file).read_text(encoding="utf-8"):
            raise AssertionError(f"{file} no longer says {words!r}: recheck PROSE[{dotted!r}]")
        if same_as is None:
            return path == prefix
        return (*_split(same_as), *path[len(prefix) :]) in known
    return False


def undocumented(document: dict[str, Any]) -> list[str]:
    """Key paths of ``document`` that no vendored reference shows, as ``a.b[].c``."""
    known = documented()
    missing = {p for p in paths(document) - known if not _prose_ok(p, known)}
    return sorted(".".join(p).replace(".[]", "[]") for p in missing)
