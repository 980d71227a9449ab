"""Which stand-in each catalogue artefact is (tests only, never shipped).

One builder per (component, artefact id), collected from one module per tool,
``tests/standins/<tool>/lab.py``, each exposing ``builders()``. A builder takes the artefact as the
MERGED catalogue resolves it (version, url, package, file name, ...) and a work folder, and returns
the built file (for an image: an OCI layout folder, pushed under the image's upstream name). The
air-gap test upstream (tests/standins/airgap_upstream.py) serves what these
build under the artefacts' upstream URLs; an artefact with no builder gets a placeholder file that
says it is one (fine only for artefacts no role executes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dockyard import catalogue
from tests.standins.built import Built

Builder = Callable[[catalogue.Artefact, Path], Built]


def registry() -> dict[tuple[str, str], Builder]:
    from tests.standins.gitlab import lab as gitlab  # noqa: PLC0415
    from tests.standins.harbor import lab as harbor  # noqa: PLC0415
    from tests.standins.jenkins import lab as jenkins  # noqa: PLC0415
    from tests.standins.kubernetes import lab as kubernetes  # noqa: PLC0415

    found: dict[tuple[str, str], Builder] = {}
    for module in (gitlab, harbor, jenkins, kubernetes):
        for key, builder in module.builders().items():
            if key in found:
                raise ValueError(f"two stand-in builders for {key[0]}/{key[1]}")
            found[key] = builder
    return found
