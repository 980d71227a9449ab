"""The GitLab upgrade planner on real version pairs, refusals included, cross-checked against the
minimum installed version omnibus-gitlab's own pre-install check accepts (reference data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dockyard.tools import gitlab_upgrade as gu

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "gitlab"
GUARDS = REFERENCE / "derived" / "omnibus-preinst-upgrade-guards.yaml"

# What a catalogue carrying the latest patch of every stop from 16.x on would list (versions
# invented only in their patch numbers: the planner must pick the newest patch it is given).
AVAILABLE = [
    f"{major}.{minor}.{patch}-ce.0" for major in (15, 16, 17, 18, 19) for minor in range(12) for patch in (0, 3)
]


@pytest.mark.parametrize(
    ("installed", "target", "hops"),
    [
        ("", "19.3.0-ce.0", []),  # fresh install: no hops
        ("19.3.0-ce.0", "19.3.0-ce.0", []),
        ("19.3.0-ce.0", "19.3.3-ce.0", ["19.3.3-ce.0"]),  # a patch
        ("19.2.0-ce.0", "19.3.0-ce.0", ["19.3.0-ce.0"]),
        ("18.11.0-ce.0", "19.3.0-ce.0", ["19.2.3-ce.0", "19.3.0-ce.0"]),
        ("18.5.1-ce.0", "19.3.0-ce.0", ["18.8.3-ce.0", "18.11.3-ce.0", "19.2.3-ce.0", "19.3.0-ce.0"]),
        ("17.3.0-ce.0", "17.9.0-ce.0", ["17.5.3-ce.0", "17.8.3-ce.0", "17.9.0-ce.0"]),
        ("16.7.0-ce.0", "17.3.0-ce.0", ["16.11.3-ce.0", "17.1.3-ce.0", "17.3.0-ce.0"]),  # 17.1: conditional stop kept
        ("15.11.0-ce.0", "16.4.0-ce.0", ["16.3.3-ce.0", "16.4.0-ce.0"]),
    ],
)
def test_hops(installed: str, target: str, hops: list[str]) -> None:
    assert [h.version for h in gu.plan(installed, target, [*AVAILABLE, target])] == hops


def test_the_last_hop_is_the_target_and_the_others_say_which_stop() -> None:
    got = gu.plan("18.11.0-ce.0", "19.3.0-ce.0", [*AVAILABLE])
    assert [h.reason for h in got] == ["required stop 19.2", "target"]


@pytest.mark.parametrize(
    ("installed", "target", "available", "message"),
    [
        ("19.3.0-ce.0", "19.2.0-ce.0", AVAILABLE, "downgrade refused: 19.3.0-ce.0 is installed"),
        ("19.3.1-ce.0", "19.3.0-ce.0", AVAILABLE, "downgrade refused"),
        ("19.2.0-ee.0", "19.3.0-ce.0", AVAILABLE, "does not switch editions"),
        ("19.2.0", "19.3.0-ce.0", AVAILABLE, "'19.2.0' is not a GitLab package version"),
        ("19.2.0-ce.0", "latest", AVAILABLE, "'latest' is not a GitLab package version"),
        ("7.14.0-ce.0", "19.3.0-ce.0", AVAILABLE, "older than the first known required stop 8.11"),
        ("18.8.0-ce.0", "19.3.0-ce.0", ["19.3.0-ce.0", "19.2.1-ce.0"], "needs required stop 18.11"),
    ],
)
def test_refusals(installed: str, target: str, available: list[str], message: str) -> None:
    with pytest.raises(gu.UpgradeRefused, match=message.replace(".", r"\.").replace("'", "'")):
        gu.plan(installed, target, available)


def test_stops_follow_the_regular_rule_after_the_listed_ones() -> None:
    stops = gu.required_stops(20)
    assert [s for s in stops if s >= (18, 0)] == [
        (18, 2),
        (18, 5),
        (18, 8),
        (18, 11),
        (19, 2),
        (19, 5),
        (19, 8),
        (19, 11),
        (20, 2),
        (20, 5),
        (20, 8),
        (20, 11),
    ]


def test_the_shipped_stops_are_upstream_s_file() -> None:
    shipped = yaml.safe_load(gu.UPGRADE_PATH.read_text())
    upstream = yaml.safe_load((REFERENCE / "gitlab-rails" / "config" / "upgrade_path.yml").read_text())
    assert shipped == upstream


def test_every_hop_passes_omnibus_own_preinstall_check() -> None:
    """Each release's package refuses an installed minor older than its MIN_VERSION: the hop before
    it in our plan, from any installed version since 15.11, must satisfy that."""
    releases = yaml.safe_load(GUARDS.read_text())["releases"]
    for release in releases:
        target = release["tag"].replace("+ce.", "-ce.")
        floor = tuple(int(x) for x in release["min_installed_minor"].split("."))
        for installed in AVAILABLE:
            have = gu.parse(installed)
            goal = gu.parse(target)
            if have >= goal or have.minor_key < (15, 11):
                continue
            chain = [installed] + [h.version for h in gu.plan(installed, target, [*AVAILABLE, target])]
            before_last = gu.parse(chain[-2])
            assert before_last.minor_key >= floor, (installed, target, chain)


def _plan_action():  # the action plugin module, loaded from its file
    import importlib.util  # noqa: PLC0415

    path = Path(__file__).resolve().parents[2] / "plugins" / "action" / "dockyard_gitlab_plan.py"
    spec = importlib.util.spec_from_file_location("dockyard_gitlab_plan", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _catalogue(version: str, stops: list[str]) -> dict[str, object]:
    from dockyard import catalogue  # noqa: PLC0415

    cat = catalogue.merged({"gitlab": {"version": version}})
    arts = cat["gitlab"]["artefacts"]  # type: ignore[index]
    base = arts["gitlab-ce-debian-bookworm-amd64"]
    base["url"] = base["url"].replace("19.3.0-ce.0", version)
    for stop in stops:
        arts[f"gitlab-ce-{stop}-debian-bookworm-amd64"] = {
            **base,
            "version": stop,
            "url": base["url"].replace(version, stop),
        }
    return cat


def test_the_plan_action_resolves_each_hop_through_the_artefact_source() -> None:
    from dockyard import catalogue  # noqa: PLC0415

    action = _plan_action()
    cat = _catalogue("19.3.0-ce.0", ["19.2.1-ce.0", "18.11.4-ce.0"])
    source = catalogue.Source(airgap=False)
    args = {"dpkg_status": "gitlab-ce|installed|18.11.4-ce.0\n", "os_release": "debian-12", "arch": "amd64"}
    found = action.plan(cat, source, args)
    assert [h["version"] for h in found["hops"]] == ["19.2.1-ce.0", "19.3.0-ce.0"]
    assert found["hops"][0]["location"].endswith("/gitlab-ce_19.2.1-ce.0_amd64.deb")
    assert action.describe(found) == (
        "gitlab: upgrade 18.11.4-ce.0 -> 19.2.1-ce.0 (required stop 19.2) -> 19.3.0-ce.0 (target), backup first"
    )
    fresh = action.plan(cat, source, {**args, "dpkg_status": "gitlab-ce|not-installed|\n"})
    assert fresh["hops"] == [] and action.describe(fresh) == "gitlab: install gitlab-ce 19.3.0-ce.0"
    with pytest.raises(gu.UpgradeRefused, match="does not switch editions"):
        action.plan(cat, source, {**args, "dpkg_status": "gitlab-ee|installed|19.2.0-ee.0\n"})
    with pytest.raises(gu.UpgradeRefused, match=re.escape("no gitlab-ce 19.3.0-ce.0 package for ubuntu-24.04 amd64")):
        action.plan(cat, source, {**args, "os_release": "ubuntu-24.04"})
    with pytest.raises(gu.UpgradeRefused, match=re.escape("needs required stop 18.11")):
        action.plan(
            _catalogue("19.3.0-ce.0", ["19.2.1-ce.0"]),
            source,
            {**args, "dpkg_status": "gitlab-ce|installed|18.8.0-ce.0"},
        )
