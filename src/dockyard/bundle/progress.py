"""Download progress: per artefact and total bytes, rate and ETA; one live line on a TTY, plain
lines (one per finished artefact) otherwise, so CI logs stay readable."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

MIB = 1024 * 1024


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class Progress:
    def __init__(self, count: int, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.count = count
        self.finished = 0
        self.total = 0  # bytes of every artefact whose size is known so far
        self.done = 0  # bytes on disk so far (already present, resumed, or transferred)
        self.transferred = 0  # bytes fetched over the network in this run
        self.current: dict[str, tuple[int, int]] = {}  # name -> (done, size)
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._last_draw = 0.0

    def rate(self) -> float:
        return self.transferred / max(time.monotonic() - self.start, 1e-6)

    def eta(self) -> str:
        rate = self.rate()
        left = max(self.total - self.done, 0)
        return f"{left / rate:.0f}s" if rate > 0 and left else "-"

    def begin(self, name: str, size: int, already: int) -> None:
        with self._lock:
            self.total += size
            self.done += already
            self.current[name] = (already, size)
            self._draw()

    def advance(self, name: str, n: int) -> None:
        with self._lock:
            self.done += n
            self.transferred += n
            got, size = self.current.get(name, (0, 0))
            self.current[name] = (got + n, size)
            self._draw()

    def restart(self, name: str) -> None:
        """The server ignored the Range request: the bytes counted for ``name`` start again."""
        with self._lock:
            got, size = self.current.get(name, (0, 0))
            self.done -= got
            self.current[name] = (0, size)

    def finish(self, name: str, message: str) -> None:
        with self._lock:
            self.current.pop(name, None)
            self.finished += 1
            self._print(
                f"[{self.finished}/{self.count}] {message}; total {human(self.done)}/{human(self.total)}, "
                f"{human(self.rate())}/s, ETA {self.eta()}"
            )

    def say(self, message: str) -> None:
        with self._lock:
            self._print(message)

    def _print(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(line + "\n")
        self.stream.flush()
        self._last_draw = 0.0

    def _draw(self) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.2:
            return
        self._last_draw = now
        parts = [
            f"{name} {human(got)}/{human(size)}" + (f" {100 * got // size}%" if size else "")
            for name, (got, size) in list(self.current.items())[:3]
        ]
        self.stream.write(
            f"\r\033[K{human(self.done)}/{human(self.total)} {human(self.rate())}/s ETA {self.eta()}  "
            + "  ".join(parts)
        )
        self.stream.flush()
