"""Progress of long phases (sampling, feature extraction, scoring) without printing: the library reports, the CLI
draws. A :data:`ProgressFactory` opens one bar per phase; :func:`no_progress` is the silent default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    """One phase's progress: ``update(n)`` after each ``n`` units of work, ``close()`` when the phase ends."""

    def update(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[str, int, str], Progress]  # (description, total, unit) -> Progress


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(description: str, total: int, unit: str) -> Progress:
    """A progress that shows nothing."""
    return _Silent()
