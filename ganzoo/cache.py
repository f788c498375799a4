"""Where ganzoo keeps downloaded data, converted weights, reference statistics and scores computed once."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_dir(*parts: str) -> Path:
    """``$GANZOO_CACHE`` (default ``$XDG_CACHE_HOME/ganzoo`` or ``~/.cache/ganzoo``) joined with ``parts``."""
    root = os.environ.get("GANZOO_CACHE")
    if not root:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ganzoo")
    return Path(root, *parts)


def cached_score(key: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """``compute()``'s JSON-able result, stored under ``cache_dir("scores")`` by ``key``; (result, from_cache).

    For scores that depend on nothing a training run changes (the real-vs-real floor, the untrained network), so
    that a benchmark computes them once per configuration. An unreadable cache entry is recomputed and replaced.
    """
    from ganzoo.engine.checkpoint import atomic_write

    text = json.dumps(key, sort_keys=True, default=str)
    path = cache_dir("scores") / f"{key.get('kind', 'score')}-{hashlib.sha256(text.encode()).hexdigest()[:20]}.json"
    try:
        stored = json.loads(path.read_text())
        if stored.get("key") == json.loads(text):
            return stored["result"], True
    except (OSError, ValueError, AttributeError, KeyError):
        pass
    result = json.loads(json.dumps(compute(), default=float))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps({"key": json.loads(text), "result": result})))
    except OSError:
        pass  # an unwritable cache costs a recomputation next time, not this result
    return result, False
