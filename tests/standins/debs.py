"""Build real Debian packages for stand-ins with dpkg-deb, named like upstream: <pkg>_<ver>_<arch>.deb."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.standins.built import Built

FileContent = bytes | tuple[bytes, int]
STANDIN_LIB = Path(__file__).with_name("standin_lib.py")
STANDIN_LIB_PATH = "/usr/lib/dockyard-standin/standin_lib.py"  # where every stand-in package carries it


def build_deb(
    out_dir: Path,
    package: str,
    version: str,
    arch: str,
    files: Mapping[str, FileContent],
    *,
    depends: Iterable[str] = (),
    description: str = "",
    postinst: str | None = None,
    prerm: str | None = None,
    conffiles: Iterable[str] = (),
    with_standin_lib: bool = True,
) -> Built:
    """A .deb holding ``files`` ({absolute path: bytes or (bytes, mode)}) and maintainer scripts.

    The stand-in library (call log, flag checks) is added at STANDIN_LIB_PATH unless told otherwise.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{package}_{version}_{arch}.deb"
    content = dict(files)
    if with_standin_lib:
        content.setdefault(STANDIN_LIB_PATH, (STANDIN_LIB.read_bytes(), 0o644))
    with tempfile.TemporaryDirectory(prefix="standin-deb-") as tmp:
        root = Path(tmp) / "root"
        for path, value in content.items():
            if not path.startswith("/"):
                raise ValueError(f"{package}: {path}: paths in a package are absolute")
            data, mode = value if isinstance(value, tuple) else (value, 0o644)
            dest = root / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            dest.chmod(mode)
        debian = root / "DEBIAN"
        debian.mkdir(parents=True)
        control = [
            f"Package: {package}",
            f"Version: {version}",
            f"Architecture: {arch}",
            "Maintainer: Dockyard tests <tests@dockyard.invalid>",
            "Section: misc",
            "Priority: optional",
        ]
        deps = list(depends)
        if with_standin_lib and "python3" not in deps:
            deps.append("python3")
        if deps:
            control.append(f"Depends: {', '.join(deps)}")
        summary = description or f"STAND-IN for {package} {version} (Dockyard tests only; not the real product)"
        control.append(f"Description: {summary}")
        (debian / "control").write_text("\n".join(control) + "\n")
        for name, script in (("postinst", postinst), ("prerm", prerm)):
            if script:
                (debian / name).write_text(script)
                (debian / name).chmod(0o755)
        conf = list(conffiles)
        if conf:
            (debian / "conffiles").write_text("\n".join(conf) + "\n")
        subprocess.run(
            [_dpkg_deb(), "--root-owner-group", "-Zgzip", "--build", str(root), str(target)],
            check=True,
            capture_output=True,
        )
    return Built.of(target)


def _dpkg_deb() -> str:
    found = shutil.which("dpkg-deb")
    if not found:
        raise RuntimeError("dpkg-deb: not found (Debian's dpkg package)")
    return found
