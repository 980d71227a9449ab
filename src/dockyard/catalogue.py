"""The version and artefact catalogue, and the one place that decides where an artefact comes from.

The catalogue ships with the product (``src/dockyard/data/catalogue.yml``, like Kubespray's
``kubespray_defaults``); an inventory's ``dockyard_catalogue`` holds overrides only, merged key by
key over it by :func:`merged` (component -> version/phases/description, artefacts -> fields). It
records, for each component, the pinned version, the phases that need it, and its artefacts with
their kind, upstream source and sha256. Roles never hard-code a URL: they ask :func:`resolve`
(through the ``dockyard_artefact`` lookup plugin), which answers with the upstream location when
online, or the mirror's when air-gapped.

Mirror layout (what ``invoke bundle load`` fills), derived mechanically from the upstream location:

* files, vendor packages, charts, plugins: ``https://<mirror>/files/<upstream host>/<upstream path>``
* images: ``<mirror>:<registry port>/<upstream registry>/<repository>:<tag>@sha256:<digest>``
* OS packages: the site's own OS mirror (``dockyard_os_mirror``), never the bundle
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from dockyard.problems import InvalidInput
from dockyard.spec.model import Platform

UNKNOWN = "unknown"
APT = "apt"
PRODUCT_FILE = Path(__file__).resolve().parent / "data" / "catalogue.yml"
KINDS = ("file", "deb", "image", "chart", "jenkins-plugin", "os-package")
BUNDLED_KINDS = frozenset(KINDS) - {"os-package"}  # OS packages come from the site's OS mirror


@cache
def _product() -> dict[str, Any]:
    with PRODUCT_FILE.open(encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh)["components"])


def product() -> dict[str, Any]:
    """The catalogue that ships with Dockyard (a fresh copy: callers may change it)."""
    return copy.deepcopy(_product())


def merged(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The product catalogue with an inventory's ``dockyard_catalogue`` merged over it key by key.

    A component's scalar fields (version, phases, description) are replaced; its artefacts are
    merged by id, each artefact's fields replaced one by one; unknown components are added whole.
    Anything that is not a mapping where one is expected is kept as given, for validation to name.
    """
    return merge_over(product(), overrides)


def merge_over(base: dict[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """``overrides`` merged into ``base`` (changed in place and returned) as :func:`merged` does;
    also how override layers combine into one override."""
    result = base
    for name, comp in (overrides or {}).items():
        into = result.get(name)
        if into is None and isinstance(comp, Mapping):
            into = result[name] = {}
        if not isinstance(into, dict) or not isinstance(comp, Mapping):
            result[name] = copy.deepcopy(comp)
            continue
        for key, value in comp.items():
            if key == "artefacts" and isinstance(value, Mapping) and isinstance(into.setdefault("artefacts", {}), dict):
                for art_id, fields in value.items():
                    current = into["artefacts"].get(art_id)
                    if isinstance(current, dict) and isinstance(fields, Mapping):
                        current.update(copy.deepcopy(dict(fields)))
                    else:
                        into["artefacts"][art_id] = copy.deepcopy(fields)
            else:
                into[key] = copy.deepcopy(value)
    return result


def overrides_in_force(overrides: Mapping[str, Any] | None) -> list[str]:
    """``component.version`` / ``component.artefacts.id.field`` paths an inventory overrides or adds."""
    base = _product()
    found: list[str] = []
    for name, comp in (overrides or {}).items():
        if name not in base or not isinstance(comp, Mapping):
            found.append(f"{name} (added)")
            continue
        for key, value in comp.items():
            if key != "artefacts" or not isinstance(value, Mapping):
                found.append(f"{name}.{key}")
                continue
            for art_id, fields in value.items():
                if art_id not in (base[name].get("artefacts") or {}) or not isinstance(fields, Mapping):
                    found.append(f"{name}.artefacts.{art_id} (added)")
                else:
                    found.extend(f"{name}.artefacts.{art_id}.{f}" for f in fields)
    return found


@dataclass(frozen=True)
class Artefact:
    component: str
    id: str
    kind: str
    version: str
    url: str | None
    ref: str | None
    package: str | None
    sha256: str | None  # None when upstream publishes none, or apt verifies it
    arch: str | None = None
    os_release: str | None = None
    phases: tuple[str, ...] = ()

    @property
    def image(self) -> str | None:
        """The image reference to use: ``name:tag@sha256:<digest>`` wherever the digest is known."""
        if not self.ref:
            return None
        return f"{self.ref}@sha256:{self.sha256}" if self.sha256 and "@" not in self.ref else self.ref

    @property
    def file_name(self) -> str:
        if not self.url:
            raise ValueError(f"{self.component}/{self.id} has no download URL")
        return urlsplit(self.url).path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Source:
    """Where artefacts come from for this run: upstream, or the platform's mirror."""

    airgap: bool
    mirror_fqdn: str | None = None
    mirror_registry: str | None = None

    @property
    def uses_mirror(self) -> bool:
        return self.airgap

    @classmethod
    def of(cls, platform: Platform, has_mirror: bool) -> Source:
        """The platform's source: its mirror's names only when the inventory has a mirror host."""
        return cls(
            airgap=platform.airgap,
            mirror_fqdn=platform.mirror_fqdn if has_mirror else None,
            mirror_registry=platform.mirror_registry if has_mirror else None,
        )


def artefact(catalogue: dict[str, Any], component: str, artefact_id: str | None = None) -> Artefact:
    comp = catalogue.get(component)
    if not isinstance(comp, dict):
        raise InvalidInput(
            f"dockyard_catalogue: {component}: not in the catalogue "
            f"(add it to the inventory's dockyard_catalogue overrides, or fix the name)"
        )
    artefacts = comp.get("artefacts") or {}
    if artefact_id is None:
        if len(artefacts) != 1:
            raise InvalidInput(
                f"dockyard_catalogue: {component}.artefacts: has {len(artefacts)} artefacts "
                f"(name one of: {', '.join(sorted(artefacts))})"
            )
        artefact_id = next(iter(artefacts))
    entry = artefacts.get(artefact_id)
    if not isinstance(entry, dict):
        raise InvalidInput(
            f"dockyard_catalogue: {component}.artefacts.{artefact_id}: not in the catalogue "
            f"(known: {', '.join(sorted(artefacts)) or 'none'})"
        )
    sha = entry.get("sha256")
    return Artefact(
        component=component,
        id=artefact_id,
        kind=str(entry["kind"]),
        version=str(entry.get("version") or comp.get("version") or ""),
        url=entry.get("url"),
        ref=entry.get("ref"),
        package=entry.get("package"),
        sha256=sha if sha not in (UNKNOWN, APT, None) else None,
        arch=entry.get("arch"),
        os_release=entry.get("os_release"),
        phases=tuple(entry.get("phases") or comp.get("phases") or ()),
    )


def resolve(art: Artefact, source: Source) -> dict[str, Any]:
    """Where to fetch an artefact from now, with what to verify it against."""
    location: str | None
    if art.image:
        location = mirror_image_ref(art.image, source.mirror_registry) if source.uses_mirror else art.image
    elif art.url:
        location = mirror_file_url(art.url, source.mirror_fqdn) if source.uses_mirror else art.url
    else:
        location = None
    if source.uses_mirror and (art.ref or art.url) and not (source.mirror_fqdn and source.mirror_registry):
        raise InvalidInput("dockyard_airgap: true needs a mirror host (add one to group 'mirror')")
    return {
        "component": art.component,
        "id": art.id,
        "kind": art.kind,
        "version": art.version,
        "location": location,
        "upstream": art.image or art.url,
        "package": art.package,
        "file_name": urlsplit(art.url).path.rsplit("/", 1)[-1] if art.url else None,
        "sha256": art.sha256,
        # Ready for ansible.builtin.get_url's checksum option; empty when nothing is published.
        "checksum": f"sha256:{art.sha256}" if art.sha256 else "",
        "from_mirror": source.uses_mirror,
    }


def mirror_image_ref(ref: str, mirror_registry: str | None) -> str:
    """``quay.io/argoproj/argocd:v3.4.4`` -> ``<mirror registry>/quay.io/argoproj/argocd:v3.4.4``.

    The mirror keeps each upstream registry under its own first path component (containerd reaches
    it with ``override_path``), so images of different registries never collide.
    """
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:  # Docker Hub short forms: redis -> docker.io/library/redis, bitnami/redis -> docker.io/bitnami/redis
        host, path = "docker.io", ref if rest else f"library/{ref}"
    return f"{mirror_registry}/{host}/{path}"


def mirror_file_url(url: str, mirror_fqdn: str | None) -> str:
    """``https://dl.k8s.io/release/v1.35.1/bin/linux/amd64/kubeadm`` ->
    ``https://<mirror>/files/dl.k8s.io/release/v1.35.1/bin/linux/amd64/kubeadm``: the mirror keeps
    the upstream host and path, so any upstream URL maps to its mirror URL mechanically."""
    return f"https://{mirror_fqdn}/{mirror_file_path(url)}"


def mirror_file_path(url: str) -> str:
    """``files/<upstream host>/<upstream path>``: where the mirror (and the bundle) keep a file."""
    parts = urlsplit(url)
    return f"files/{parts.netloc}{parts.path}"
