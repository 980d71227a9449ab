"""Problems found in operator input, and the errors that carry them to the command line.

Every problem names the file, the key inside it, what is wrong and how to fix it, so the
operator never has to read a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_INVALID = 2  # bad input: spec, inventory, unknown environment, bad arguments
EXIT_FAILED = 1  # the operation ran and failed (preflight check, playbook, API)


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    key: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        fix = f" ({self.fix})" if self.fix else ""
        return one_line(f"{self.file}: {self.key}: {self.message}{fix}")


def one_line(text: str) -> str:
    """Control characters shown escaped, so a value ending in a newline cannot split the line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class DockyardError(Exception):
    """An error the command line reports as one clear line and an exit code, never a traceback."""

    exit_code = EXIT_FAILED

    def lines(self) -> list[str]:
        return [str(self)]


class InvalidInput(DockyardError):
    """Bad input given on the command line or in a file; exit code 2."""

    exit_code = EXIT_INVALID


class SpecInvalid(InvalidInput):
    """The platform spec or inventory has one or more problems."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems), key=_location_order)
        super().__init__(f"{len(self.problems)} problem(s) in the platform spec")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def _location_order(problem: Problem) -> tuple[str, int, str, str]:
    path, _, line = problem.file.rpartition(":")
    if path and line.isdigit():
        return (path, int(line), problem.key, problem.message)
    return (problem.file, 0, problem.key, problem.message)
