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
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
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
