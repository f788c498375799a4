"""ganzoo's own trained weights: every folder under ``ganzoo_plugins/weights/`` with a ``card.json``, registered
through the same ``ganzoo_register_pretrained`` hook a third-party package uses.

Each folder is in the Hugging Face Hub's model layout (see :mod:`ganzoo.pretrained`) and was written by
``benchmarks/make_pretrained.py`` from a ``ganzoo bench`` run at the variant's defaults; its card.json records the
command, seed, machine, scores and file hashes, and ``benchmarks/reproduce_pretrained.py`` re-runs it.
"""

from __future__ import annotations

import importlib.resources
import json

import ganzoo


def _cards() -> list[tuple[str, dict]]:
    root = importlib.resources.files("ganzoo_plugins") / "weights"
    cards = []
    if root.is_dir():
        for folder in sorted(root.iterdir(), key=lambda f: f.name):
            card = folder / "card.json"
            if card.is_file():
                cards.append((folder.name, json.loads(card.read_text())))
    return cards


@ganzoo.hookimpl
def ganzoo_register_pretrained(register):
    for folder, card in _cards():
        register(ganzoo.PretrainedSpec(
            card["variant"], card["weights"], f"ganzoo_plugins:weights/{folder}",
            summary=f"{card['steps']} steps on {card['dataset']}, seed {card['seed']} ({card['train_seconds']:.0f} s "
                    "on a 2-core CPU)",
            scores=card.get("headline", {})))
