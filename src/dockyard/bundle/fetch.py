"""Download files once, in a bounded parallel pool: resumable (HTTP Range), retried with backoff on
5xx, resets and timeouts, and checked against their sha256 before they are moved into place."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from dockyard.bundle.hashing import file_sha256
from dockyard.bundle.progress import Progress, human

CHUNK = 1 << 16  # small reads: a connection cut mid-read loses at most this much of the partial file


@dataclass(frozen=True)
class Download:
    name: str  # component/id, for messages
    url: str
    dest: Path
    sha256: str | None  # None: trust on first use (--pin-unknown)


@dataclass(frozen=True)
class Fetched:
    download: Download
    sha256: str
    size: int
    transferred: int  # bytes fetched over the network in this run (0: it was already there)


@dataclass(frozen=True)
class Policy:
    workers: int = 4
    retries: int = 5
    backoff_s: float = 0.5
    timeout_s: float = 30.0


class FetchError(Exception):
    """A download failed for good; the message names the artefact."""


class _Retryable(Exception):
    pass


def fetch_all(
    downloads: Iterable[Download], partial_dir: Path, progress: Progress, policy: Policy
) -> tuple[list[Fetched], list[str]]:
    """Fetch every download; returns what is in place and one error line per failure."""
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def one(d: Download) -> Fetched | str:
        try:
            return _fetch(d, partial_dir, progress, policy, session())
        except FetchError as exc:
            progress.finish(d.name, f"FAILED {d.name}")
            return str(exc)

    results: list[Fetched] = []
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, policy.workers), thread_name_prefix="fetch") as pool:
        for outcome in pool.map(one, list(downloads)):
            if isinstance(outcome, str):
                errors.append(outcome)
            else:
                results.append(outcome)
    return results, errors


def partial_path(partial_dir: Path, d: Download) -> Path:
    key = hashlib.sha256(d.url.encode()).hexdigest()[:16]
    return partial_dir / f"{key}-{d.dest.name}"


def _fetch(d: Download, partial_dir: Path, progress: Progress, policy: Policy, http: requests.Session) -> Fetched:
    if d.dest.is_file():
        have = file_sha256(d.dest)
        if d.sha256 is None or have == d.sha256:
            size = d.dest.stat().st_size
            progress.begin(d.name, size, size)
            progress.finish(d.name, f"present {d.name} ({human(size)}, sha256 ok)")
            return Fetched(d, have, size, 0)
        progress.say(f"{d.name}: {d.dest} does not match its sha256 ({have}): fetching it again")
        d.dest.unlink()
    part = partial_path(partial_dir, d)
    part.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    transferred = 0
    begun = False
    for attempt in range(policy.retries + 1):
        try:
            got, size, complete = _get(d, part, progress, policy, http, begun=begun)
            begun = True
            transferred += got
            if complete:
                break
            raise _Retryable(f"connection closed after {human(part.stat().st_size)} of {human(size)}")
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            _Retryable,
        ) as exc:
            begun = True
            if attempt == policy.retries:
                raise FetchError(
                    f"{d.name}: {d.url}: gave up after {policy.retries + 1} attempts ({_reason(exc)}); "
                    f"rerun to resume from {human(part.stat().st_size if part.exists() else 0)}"
                ) from None
            delay = policy.backoff_s * 2**attempt
            progress.say(f"{d.name}: {_reason(exc)}; retrying in {delay:.1f}s (attempt {attempt + 2})")
            time.sleep(delay)
    received = file_sha256(part)
    if d.sha256 is not None and received != d.sha256:
        part.unlink()
        raise FetchError(
            f"{d.name}: sha256 mismatch for {d.url}: expected {d.sha256}, received {received} "
            f"(nothing was kept; check the catalogue pin and the download source)"
        )
    size = part.stat().st_size
    d.dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, d.dest)
    seconds = time.monotonic() - started
    progress.finish(
        d.name, f"fetched {d.name} ({human(size)} in {seconds:.1f}s, {human(transferred / max(seconds, 1e-6))}/s)"
    )
    return Fetched(d, received, size, transferred)


def _get(
    d: Download, part: Path, progress: Progress, policy: Policy, http: requests.Session, *, begun: bool
) -> tuple[int, int, bool]:
    """One request: continue ``part`` from where it ends. Returns (bytes received, size, complete)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with http.get(d.url, headers=headers, stream=True, timeout=policy.timeout_s) as resp:
        if resp.status_code == 416 and have:
            total = _total_from_content_range(resp.headers.get("Content-Range"))
            if total == have:  # the partial file is already whole
                if not begun:
                    progress.begin(d.name, have, have)
                return 0, have, True
            part.unlink()
            raise _Retryable(f"partial file longer than the upstream file ({have} > {total}): starting again")
        if resp.status_code >= 500:
            raise _Retryable(f"HTTP {resp.status_code}")
        if resp.status_code not in (200, 206):
            raise FetchError(f"{d.name}: {d.url}: HTTP {resp.status_code} {resp.reason} (check the catalogue URL)")
        length = int(resp.headers.get("Content-Length") or 0)
        if resp.status_code == 206:
            mode, size = "ab", have + length
        else:
            if have:
                progress.restart(d.name)
            mode, size, have = "wb", length, 0
        if not begun:
            progress.begin(d.name, size, have)
        received = 0
        with part.open(mode) as fh:
            for chunk in resp.iter_content(CHUNK):
                fh.write(chunk)
                received += len(chunk)
                progress.advance(d.name, len(chunk))
        complete = length == 0 or received >= length
        return received, size, complete


def _total_from_content_range(value: str | None) -> int | None:
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1]
    return int(total) if total.isdigit() else None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        return "timed out"
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return "connection reset"
    return str(exc)
