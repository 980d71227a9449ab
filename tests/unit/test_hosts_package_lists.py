"""`invoke hosts up` leaves an air-gapped lab's hosts with fresh package lists from the OS mirror:
each apt-get update is bounded by `timeout`, a try that fetched nothing counts as failed, and three
failures end in one line that names the host and what to check."""

from __future__ import annotations

import subprocess

import pytest

from dockyard.localhosts import hosts
from dockyard.problems import DockyardError


class FakeDocker:
    def __init__(self, fresh: bool, updates: list[tuple[int, str]]):
        self.fresh = fresh
        self.updates = updates
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        if args[2:4] == ("sh", "-c"):  # the freshness check (find -mmin)
            return subprocess.CompletedProcess(args, 0, "/var/lib/apt/lists\n" if self.fresh else "", "")
        rc, out = self.updates.pop(0)
        return subprocess.CompletedProcess(args, rc, out, "")


def updates(fake: FakeDocker) -> list[tuple[str, ...]]:
    return [c for c in fake.calls if "apt-get" in c]


def test_fresh_lists_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDocker(fresh=True, updates=[])
    monkeypatch.setattr(hosts, "docker", fake)
    assert hosts._refresh_package_lists("lab-1") is False
    assert updates(fake) == []


def test_a_try_that_fetched_nothing_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  503  Host not found\n"
    fake = FakeDocker(fresh=False, updates=[(0, failed), (124, ""), (0, "Reading package lists...\n")])
    monkeypatch.setattr(hosts, "docker", fake)
    assert hosts._refresh_package_lists("lab-1") is True
    assert updates(fake) == [("exec", "lab-1", "timeout", "120", "apt-get", "update", "-q")] * 3


def test_three_failures_end_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDocker(fresh=False, updates=[(124, "")] * 3)
    monkeypatch.setattr(hosts, "docker", fake)
    with pytest.raises(DockyardError) as err:
        hosts._refresh_package_lists("lab-2")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("hosts: lab-2: apt-get update through the OS mirror failed 3 times: ")
    assert "timed out" in message and "apt-cacher-ng" in message
