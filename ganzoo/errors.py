"""Exceptions that describe a user's mistake or a missing resource.

The CLI prints any :class:`GanzooError` as one line and exits non-zero; anything else is a bug and is shown with a
traceback only under ``--debug``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanzooError(Exception):
    """Base class of every error ganzoo reports to a user as one line."""


class ConfigError(GanzooError, ValueError):
    """An option or configuration value is invalid."""


class UnknownNameError(GanzooError, KeyError):
    """A variant, loss, dataset or extractor name is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = "") -> None:
        known = sorted(known)
        close = _close_names(name, known)
        message = f"unknown {kind} {name!r}"
        if close:
            message += f"; did you mean {' or '.join(repr(c) for c in close)}?"
        elif known:
            message += f"; known: {', '.join(known)}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)
        self.kind, self.name = kind, name

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _close_names(name: str, known: list[str]) -> list[str]:
    """Up to three of ``known`` that look like ``name``, ignoring letter case ('DCGAN' matches 'dcgan' alone; 'DCGN'
    the same names as 'dcgn')."""
    by_folded: dict[str, list[str]] = {}
    for candidate in known:
        by_folded.setdefault(candidate.casefold(), []).append(candidate)
    folded = name.casefold()
    matches = [folded] if folded in by_folded else difflib.get_close_matches(folded, list(by_folded), n=3, cutoff=0.5)
    return [candidate for match in matches for candidate in by_folded[match]][:3]


class PluginError(GanzooError):
    """A plugin broke the contract (duplicate name, malformed spec)."""


class DataError(GanzooError):
    """A dataset cannot be found, read or used as asked."""


class CheckpointError(GanzooError):
    """A checkpoint or run directory is missing, corrupt or does not match the variant."""


class DeviceError(GanzooError):
    """The asked-for device is not available."""


class MetricError(GanzooError):
    """A metric cannot be computed meaningfully from the given inputs."""
