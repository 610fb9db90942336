"""The one exception users see for bad input, and the record of what was skipped.

Every loader and validator raises :class:`DataError` with the file, the place in it
(row/column/key) and what to do about it, so a user never has to read a traceback from
deep inside pandas or PIL to find out what is wrong with their data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class DataError(ValueError):
    """Bad input data or configuration, described so that a person can fix it."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        where: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.where = where
        self.fix = fix
        super().__init__(self._message())

    def _message(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path if not self.where else f"{self.path} ({self.where})")
        elif self.where:
            parts.append(self.where)
        head = ": ".join([*parts, self.problem]) if parts else self.problem
        return f"{head}. Fix: {self.fix}" if self.fix else head


@dataclass(frozen=True)
class Skip:
    """One item left out of a load, and why."""

    source: str
    reason: str


@dataclass
class LoadReport:
    """What a loader read and what it left out; never empty-handed about drops."""

    loaded: int = 0
    skipped: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, source: str, reason: str) -> None:
        self.skipped.append(Skip(source, reason))

    def merge(self, other: LoadReport) -> None:
        self.loaded += other.loaded
        self.skipped.extend(other.skipped)
        self.notes.extend(other.notes)

    def summary(self) -> str:
        lines = [f"loaded {self.loaded}, skipped {len(self.skipped)}"]
        lines += [f"  skipped {s.source}: {s.reason}" for s in self.skipped]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
