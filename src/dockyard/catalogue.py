"""The version and artefact catalogue, and the one place that decides where an artefact comes from.

The catalogue (``dockyard_catalogue`` in ``inventories/platform/group_vars/all/versions.yml``)
records, for each component, the pinned version and its artefacts with their upstream source and
sha256. Roles never hard-code a URL: they ask :func:`resolve` (through the ``dockyard_artefact``
lookup plugin), which answers with the upstream location when online, or the mirror's when
air-gapped.

Mirror layout (what ``invoke bundle`` fills):

* files: ``https://<mirror>/artefacts/<component>/<version>/<file name>``
* images: ``<mirror>:<registry port>/<upstream registry>/<repository>:<tag>``
* apt packages: the apt repository the hosts are configured with (the mirror's when air-gapped)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dockyard.problems import InvalidInput
from dockyard.spec.model import Platform

UNKNOWN = "unknown"
APT = "apt"


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
            f"(add it to inventories/platform/group_vars/all/versions.yml)"
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
    )


def resolve(art: Artefact, source: Source) -> dict[str, Any]:
    """Where to fetch an artefact from now, with what to verify it against."""
    location: str | None
    if art.ref:
        location = mirror_image_ref(art.ref, source.mirror_registry) if source.uses_mirror else art.ref
    elif art.url:
        location = (
            f"https://{source.mirror_fqdn}/artefacts/{art.component}/{art.version}/{art.file_name}"
            if source.uses_mirror
            else art.url
        )
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
        "upstream": art.ref or art.url,
        "package": art.package,
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
