"""STAND-IN Jenkins artefacts (tests only, never shipped): the controller package and plugins.

* :func:`build_jenkins` -- ``jenkins_<version>_all.deb`` laid out like the upstream package:
  ``/usr/bin/jenkins`` (started by the upstream systemd unit, ``/lib/systemd/system/jenkins.service``
  from the vendored packaging repository, placeholders filled as the package build does), the
  ``jenkins`` user made by the postinst, which then starts the service as Debian packages do.
  The program is :mod:`tests.standins.jenkins.runner` serving the Jenkins API test double.
* :func:`build_plugin` -- ``<id>.hpi``: a zip with the META-INF/MANIFEST.MF fields Jenkins reads
  (Short-Name, Plugin-Version, Plugin-Dependencies), so a missing dependency is caught the same way.
* :func:`publish_core` / :func:`publish_lockfile` -- the core alone / both, for a catalogue, on a
  :class:`~tests.standins.upstream.TestUpstream`, returning the ``dockyard_catalogue`` overlay
  that points the role at them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from tests.standins.built import Built
from tests.standins.debs import build_deb
from tests.standins.upstream import Published, TestUpstream

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
UNIT = ROOT / "tests/reference/jenkins-core/packaging/systemd/jenkins.service"
LIB = "/usr/lib/dockyard-standin/jenkins"

POSTINST = """#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent group jenkins >/dev/null || addgroup --system --quiet jenkins
  id jenkins >/dev/null 2>&1 || adduser --system --quiet --home /var/lib/jenkins --ingroup jenkins jenkins
  install -d -o jenkins -g jenkins -m 0755 /var/lib/jenkins /var/cache/jenkins /var/log/jenkins
  install -d -m 0777 /var/log/dockyard-standin
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable jenkins.service >/dev/null
    systemctl start jenkins.service || true
  fi
fi
"""
PRERM = """#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then systemctl stop jenkins.service || true; fi
"""


def build_jenkins(out_dir: Path, version: str) -> Built:
    unit = UNIT.read_text().replace("@@ARTIFACTNAME@@", "jenkins").replace("@@PORT@@", "8080")
    wrapper = f"#!/bin/sh\n# STAND-IN for Jenkins {version} (Dockyard tests only)\n"
    wrapper += f'DOCKYARD_STANDIN_VERSION={version} exec /usr/bin/python3 {LIB}/runner.py "$@"\n'
    files: dict[str, bytes | tuple[bytes, int]] = {
        "/usr/bin/jenkins": (wrapper.encode(), 0o755),
        "/lib/systemd/system/jenkins.service": unit.encode(),
        f"{LIB}/runner.py": (HERE / "runner.py").read_bytes(),
        f"{LIB}/tests/__init__.py": b"",
        f"{LIB}/tests/fakes/__init__.py": b"",
        f"{LIB}/tests/fakes/http_types.py": (ROOT / "tests/fakes/http_types.py").read_bytes(),
        f"{LIB}/tests/fakes/jenkins.py": (ROOT / "tests/fakes/jenkins.py").read_bytes(),
    }
    return build_deb(
        out_dir,
        "jenkins",
        version,
        "all",
        files,
        depends=("python3", "python3-yaml", "adduser"),
        postinst=POSTINST,
        prerm=PRERM,
    )


def build_plugin(out_dir: Path, plugin_id: str, version: str, requires: dict[str, str]) -> Built:
    deps = ",".join(f"{name}:{'0' if minimum == 'any' else minimum}" for name, minimum in sorted(requires.items()))
    lines = ["Manifest-Version: 1.0", f"Short-Name: {plugin_id}", f"Plugin-Version: {version}"]
    if deps:
        lines.append(f"Plugin-Dependencies: {deps}")
    lines.append("Long-Name: STAND-IN plugin (Dockyard tests only)")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("META-INF/MANIFEST.MF", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(info, "\r\n".join(lines) + "\r\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{plugin_id}-{version}.hpi"
    path.write_bytes(buffer.getvalue())
    return Built.of(path)


def publish_core(upstream: TestUpstream, out_dir: Path, version: str) -> Published:
    """Build and serve the stand-in core package at ``version``, under upstream's debian-stable URL."""
    deb_url = f"https://get.jenkins.io/debian-stable/jenkins_{version}_all.deb"
    return upstream.publish("jenkins", "jenkins-deb", deb_url, build_jenkins(out_dir, version))


def core_overlay(upstream: TestUpstream, published: Published, version: str) -> dict[str, Any]:
    """The ``dockyard_catalogue`` override that pins the core at ``version`` (served by ``upstream``)."""
    overlay = upstream.overlay([published])
    overlay["jenkins"]["version"] = version
    return overlay


def publish_lockfile(
    upstream: TestUpstream, out_dir: Path, catalogue: dict[str, Any], version: str
) -> tuple[list[Published], dict[str, Any]]:
    """Build and serve the stand-in core at ``version`` and every plugin of the lockfile; the overlay."""
    published = [publish_core(upstream, out_dir, version)]
    for pid, entry in sorted(catalogue["jenkins_plugins"]["artefacts"].items()):
        built = build_plugin(out_dir / "plugins", pid, str(entry["version"]), dict(entry.get("requires") or {}))
        published.append(upstream.publish("jenkins_plugins", pid, str(entry["url"]), built))
    overlay = upstream.overlay(published)
    overlay["jenkins"]["version"] = version
    return published, overlay
