"""Where ganzoo keeps downloaded data, converted weights and reference statistics."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``$GANZOO_CACHE`` (default ``$XDG_CACHE_HOME/ganzoo`` or ``~/.cache/ganzoo``) joined with ``parts``."""
    root = os.environ.get("GANZOO_CACHE")
    if not root:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ganzoo")
    return Path(root, *parts)
