"""The download pool in-process against the test upstream (real HTTP on 127.0.0.1): timeouts are
retried, a file that never completes is reported without a traceback, the TTY display redraws."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

from dockyard.bundle import fetch
from dockyard.bundle.progress import Progress
from tests.standins.built import Built
from tests.standins.upstream import TestUpstream

UPSTREAM_URL = "https://example.org/dist/tool-1.0.tar.gz"


def _published(tmp_path: Path, up: TestUpstream, size: int = 300_000) -> tuple[str, str]:
    data = bytes(range(256)) * (size // 256)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    up.publish("tool", "tool", UPSTREAM_URL, Built.of(src))
    return up.url_for(UPSTREAM_URL), hashlib.sha256(data).hexdigest()


def test_timeouts_are_retried_then_the_file_completes(tmp_path: Path) -> None:
    with TestUpstream(tmp_path / "www", None, None) as up:
        url, sha = _published(tmp_path, up)
        path = "/example.org/dist/tool-1.0.tar.gz"
        up.faults.slow[path] = 1.0  # each 64 KiB block waits 1 s: longer than the read timeout
        threading.Timer(1.5, up.faults.slow.clear).start()
        out = io.StringIO()
        d = fetch.Download("tool/tool", url, tmp_path / "bundle" / "files" / "tool.tgz", sha)
        done, errors = fetch.fetch_all(
            [d], tmp_path / "bundle" / ".partial", Progress(1, out, tty=False),
            fetch.Policy(workers=1, retries=6, backoff_s=0.2, timeout_s=0.5),
        )  # fmt: skip
        assert errors == [], out.getvalue()
        assert done[0].sha256 == sha and d.dest.is_file()
        assert "timed out; retrying" in out.getvalue()


def test_gives_up_with_one_line_and_keeps_the_partial_for_a_rerun(tmp_path: Path) -> None:
    with TestUpstream(tmp_path / "www", None, None) as up:
        url, sha = _published(tmp_path, up)
        path = "/example.org/dist/tool-1.0.tar.gz"
        up.faults.cut_after[path] = (100_000, 99)
        up.faults.errors[path] = 0
        d = fetch.Download("tool/tool", url, tmp_path / "b" / "files" / "tool.tgz", sha)
        done, errors = fetch.fetch_all(
            [d], tmp_path / "b" / ".partial", Progress(1, io.StringIO(), tty=False),
            fetch.Policy(workers=1, retries=1, backoff_s=0.01, timeout_s=5),
        )  # fmt: skip
        assert done == []
        assert len(errors) == 1 and errors[0].startswith(f"tool/tool: {url}: gave up after 2 attempts")
        assert not d.dest.exists()
        have = fetch.partial_path(tmp_path / "b" / ".partial", d).stat().st_size
        assert 100_000 <= have < 300_000  # what arrived before each cut, less the last unfinished read
        up.faults.cut_after.clear()
        done, errors = fetch.fetch_all(
            [d], tmp_path / "b" / ".partial", Progress(1, io.StringIO(), tty=False), fetch.Policy(workers=1)
        )
        assert errors == []
        assert done[0].transferred == done[0].size - have  # resumed with Range, not fetched again
        assert up.hits_for(path)[-1].range == f"bytes={have}-"


def test_tty_progress_redraws_one_line(tmp_path: Path) -> None:
    with TestUpstream(tmp_path / "www", None, None) as up:
        url, sha = _published(tmp_path, up, size=3_000_000)
        up.faults.slow["/example.org/dist/tool-1.0.tar.gz"] = 0.02
        out = io.StringIO()
        d = fetch.Download("tool/tool", url, tmp_path / "b" / "tool.tgz", sha)
        _done, errors = fetch.fetch_all([d], tmp_path / "b" / ".partial", Progress(1, out, tty=True), fetch.Policy())
        assert errors == []
        text = out.getvalue()
        assert "\r\033[K" in text and "ETA" in text and "tool/tool" in text
        assert text.rstrip().split("\r\033[K")[-1].startswith("[1/1] fetched tool/tool")
