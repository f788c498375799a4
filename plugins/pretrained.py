"""ganzoo's own trained weights: every folder under ``ganzoo_plugins/weights/`` with a ``card.json``, registered
through the same ``ganzoo_register_pretrained`` hook a third-party package uses.

Each folder is in the Hugging Face Hub's model layout (see :mod:`ganzoo.pretrained`) and was written by
``benchmarks/make_pretrained.py`` from a ``ganzoo bench`` run at the variant's defaults; its card.json records the
command, seed, machine, scores and file hashes, and ``benchmarks/reproduce_pretrained.py`` re-runs it.
"""

from __future__ import annotations

import importlib.resources
import json
import warnings

import ganzoo


def _cards() -> list[tuple[str, dict]]:
    root = importlib.resources.files("ganzoo_plugins") / "weights"
    cards = []
    if root.is_dir():
        for folder in sorted(root.iterdir(), key=lambda f: f.name):
            card = folder / "card.json"
            if card.is_file():
                try:
                    cards.append((folder.name, json.loads(card.read_text())))
                except (OSError, ValueError) as exc:
                    warnings.warn(f"shipped weights {folder.name}: unreadable card.json ({exc})", stacklevel=2)
    return cards


def _summary(card: dict) -> str:
    machine = card.get("machine") or {}
    where = f"{machine.get('cpu_count', '?')}-core {machine.get('device', 'cpu').upper()}"
    seconds = card.get("train_seconds")
    took = f" ({seconds:.0f} s of training on a {where})" if isinstance(seconds, (int, float)) else ""
    return f"{card.get('steps', '?')} steps on {card.get('dataset', '?')}, seed {card.get('seed', '?')}{took}"


@ganzoo.hookimpl
def ganzoo_register_pretrained(register):
    for folder, card in _cards():
        if not isinstance(card.get("variant"), str) or not isinstance(card.get("weights"), str):
            warnings.warn(f"shipped weights {folder}: card.json names no variant and weights", stacklevel=2)
            continue
        register(ganzoo.PretrainedSpec(card["variant"], card["weights"], f"ganzoo_plugins:weights/{folder}",
                                       summary=_summary(card), scores=card.get("headline") or {}))
