"""Build the STAND-IN harbor-offline-installer tarball (tests only, never shipped; not Harbor).

``harbor-offline-installer-<version>.tgz`` with upstream's top-level layout (``harbor/``:
``common.sh``, ``harbor.<version>.tar.gz``, ``harbor.yml.tmpl``, ``install.sh``, ``LICENSE``,
``prepare``). ``harbor.yml.tmpl`` is the real template from tests/reference (v2.15's, the only one vendored),
its ``_version`` set to the installer's own major.minor.0 so that an older stand-in (the N-1 of an
upgrade test) reads and migrates like that version; the images tarball holds one small image built
here (the test host image plus Debian's nginx, docker-registry and the Python the API test double
needs), tagged with each upstream image name the compose project uses (goharbor/prepare,
harbor-core, harbor-db, nginx-photon, registry-photon, trivy-adapter-photon). What each container
does is in image/services.py.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
import tempfile
from pathlib import Path

from dockyard.localhosts.engine import DOCKER
from tests.standins import tarballs
from tests.standins.built import Built

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
TEMPLATE = ROOT / "tests" / "reference" / "harbor" / "make" / "harbor.yml.tmpl"
IMAGES = ("prepare", "harbor-core", "harbor-db", "nginx-photon", "registry-photon", "trivy-adapter-photon")
PACKAGES = ("nginx-light", "docker-registry", "python3-yaml", "python3-jsonschema", "python3-cryptography")
# What the image carries of this checkout: the API test double and what it imports.
DOUBLE_FILES = (
    "tests/__init__.py",
    "tests/fakes/__init__.py",
    "tests/fakes/harbor.py",
    "tests/fakes/server.py",
    "tests/fakes/http_types.py",
    "tests/fakes/swagger.py",
    "tests/reference/harbor/api/v2.0/swagger.yaml",
    "src/dockyard/__init__.py",
    "src/dockyard/pki.py",
    "src/dockyard/files.py",
    "tests/standins/__init__.py",
    "tests/standins/standin_lib.py",
)


def _docker(*args: str, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run([DOCKER, *args], input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:2])}: {proc.stderr.decode(errors='replace').strip()[-2000:]}")
    return proc.stdout


def template(version: str) -> bytes:
    """The reference harbor.yml.tmpl with ``_version`` at ``version``'s major.minor.0."""
    major, minor = version.lstrip("v").split(".")[:2]
    text, count = re.subn(r"(?m)^_version: .*$", f"_version: {major}.{minor}.0", TEMPLATE.read_text())
    if count != 1:
        raise RuntimeError(f"{TEMPLATE}: expected one _version line, found {count}")
    return text.encode()


def _context_files(version: str) -> dict[str, bytes]:
    files = {f"standin/{rel}": (ROOT / rel).read_bytes() for rel in DOUBLE_FILES}
    files["standin/services.py"] = (HERE / "image" / "services.py").read_bytes()
    files["standin/harbor.yml.tmpl"] = template(version)
    return files


def build_images(version: str, base_image: str, cache: Path) -> Path:
    """The images tarball (``harbor.<version>.tar.gz``), rebuilt only when its inputs change."""
    files = _context_files(version)
    dockerfile = (
        f"FROM {base_image}\n"
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
        f"{' '.join(PACKAGES)} && rm -rf /var/lib/apt/lists/*\n"
        # psql in harbor-db: the stand-in's two schema_migrations queries (services.py psql).
        "RUN printf '#!/bin/sh\\nexec python3 /standin/services.py psql \"$@\"\\n' > /usr/local/bin/psql"
        " && chmod 755 /usr/local/bin/psql\n"
        "COPY standin /standin\n"
        f"ENV PYTHONPATH=/standin/src:/standin STANDIN_VERSION={version}\n"
        'ENTRYPOINT ["python3", "/standin/services.py"]\n'
        'CMD ["core"]\n'
    )
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    digest.update(f"{version}\0{base_image}\0{dockerfile}".encode())
    out = cache / digest.hexdigest()[:16] / f"harbor.{version}.tar.gz"
    if out.is_file():
        return out
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        for name, data in files.items():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            (context / name).write_bytes(data)
        (context / "Dockerfile").write_text(dockerfile)
        # Built under this test suite's own name; the upstream names exist only while saving.
        own = f"dy12-harbor-standin:{digest.hexdigest()[:16]}"
        _docker("build", "-q", "-t", own, str(context))
        tags = [f"goharbor/{image}:{version}" for image in IMAGES]
        for tag in tags:
            _docker("tag", own, tag)
        try:
            saved = _docker("save", *tags)
        finally:
            _docker("rmi", *tags)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=1) as fh:
        fh.write(saved)
    partial.replace(out)
    return out


def build_installer(version: str, base_image: str, cache: Path) -> Built:
    """``harbor-offline-installer-<version>.tgz``, named and laid out like upstream's (cached beside
    its images tarball: the build is deterministic)."""
    images = build_images(version, base_image, cache)
    out = images.parent / f"harbor-offline-installer-{version}.tgz"
    if out.is_file():
        return Built.of(out)
    installer = HERE / "installer"
    files: dict[str, bytes | tuple[bytes, int]] = {
        "common.sh": ((installer / "common.sh").read_bytes(), 0o644),
        "install.sh": ((installer / "install.sh").read_bytes(), 0o755),
        "prepare": ((installer / "prepare").read_bytes(), 0o755),
        "LICENSE": ((installer / "LICENSE").read_bytes(), 0o644),
        "harbor.yml.tmpl": (template(version), 0o644),
        f"harbor.{version}.tar.gz": (images.read_bytes(), 0o644),
        "standin_lib.py": ((ROOT / "tests" / "standins" / "standin_lib.py").read_bytes(), 0o644),
        ".standin-version": (f"{version}\n".encode(), 0o644),
    }
    partial = out.with_name(out.name + ".partial")
    built = tarballs.build_tarball(partial, "harbor", files)
    partial.replace(out)
    return Built(out, built.sha256, built.size)
