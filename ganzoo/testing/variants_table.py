"""The variants table of ``docs/variants.md``, generated from the registry, and its parser.

The table sits between the markers ``<!-- variants-table:start -->`` and ``<!-- variants-table:end -->``; one row
per built-in variant (those registered by plugins shipped with ganzoo; installed third-party plugins are left
out), sorted by name, with these columns (cells are exact, so a test can compare them with
``ganzoo list --json``):

=================  ==========================================================================================
Variant            the name in backticks: ```wgan-gp```
Paper              ``[arXiv:1704.00028](https://arxiv.org/abs/1704.00028)``; the link target is ``spec.paper``
                   (link text ``arXiv:ID`` for arXiv links, the URL otherwise); ``-`` when there is none
Loss               the loss name in backticks
n_critic           the default number of D steps per G step, an integer
Optimizer          ``Adam 0.0001, betas (0.0, 0.9)`` / ``RMSprop 5e-05``; ``G: ...; D: ...`` when they differ
Regularisation     ``gradient penalty 10.0``, ``weight clip 0.01``, both joined by ``; ``, or ``-``
Image sizes        comma-separated integers (``28, 32, 64``); ``-`` for point-only variants
Channels           comma-separated integers; ``-`` for point-only variants
Data               comma-separated data kinds (``image, points``)
=================  ==========================================================================================

Regenerate the table in place with ``python -m ganzoo.testing.variants_table docs/variants.md``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ganzoo.registry import Registry
from ganzoo.specs import OptimizerSpec, VariantSpec

START, END = "<!-- variants-table:start -->", "<!-- variants-table:end -->"
COLUMNS = ("Variant", "Paper", "Loss", "n_critic", "Optimizer", "Regularisation", "Image sizes", "Channels", "Data",
           "Conditional")
_OPTIMIZER_NAMES = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}


def _paper(url: str) -> str:
    if not url:
        return "-"
    m = re.match(r"https?://arxiv\.org/abs/([\w.]+)", url)
    return f"[{'arXiv:' + m.group(1) if m else url}]({url})"


def _optimizer(opt: OptimizerSpec) -> str:
    text = f"{_OPTIMIZER_NAMES[opt.name]} {opt.lr:g}"
    if opt.name == "adam":
        text += f", betas ({opt.betas[0]}, {opt.betas[1]})"
    if opt.weight_decay:
        text += f", weight decay {opt.weight_decay:g}"
    return text


def _row(spec: VariantSpec) -> list[str]:
    d = spec.defaults
    g, dd = _optimizer(d.g_optimizer), _optimizer(d.d_optimizer)
    regs = [f"`{name}` {value:g}" for name, value in spec.regularisers.items()]
    images = "image" in spec.data_kinds
    return [
        f"`{spec.name}`", _paper(spec.paper), f"`{spec.loss}`", str(d.n_critic),
        g if g == dd else f"G: {g}; D: {dd}",
        "; ".join(regs) or "-",
        ", ".join(map(str, spec.image_sizes)) if images else "-",
        ", ".join(map(str, spec.channels)) if images else "-",
        ", ".join(spec.data_kinds),
        "class labels" if spec.conditional else "-",
    ]


def builtin_variants() -> list[str]:
    """Names of the variants registered by the plugins shipped with ganzoo (what docs/variants.md lists)."""
    from ganzoo.plugins import get_plugins, get_registry

    registry, infos = get_registry(), get_plugins().infos
    return [n for n in registry.names("variant") if infos[registry.entry("variant", n).plugin].builtin]


def variants_table(registry: Registry | None = None, names: list[str] | None = None) -> str:
    """The markdown table (header, separator, one row per variant sorted by name), without the markers.

    ``names`` defaults to every variant of ``registry`` (default: the installed plugins' registry)."""
    if registry is None:
        from ganzoo.plugins import get_registry

        registry = get_registry()
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for name in sorted(registry.names("variant") if names is None else names):
        lines.append("| " + " | ".join(_row(registry.variant(name))) + " |")
    return "\n".join(lines) + "\n"


def replace_table(document: str, table: str) -> str:
    """``document`` with the text between the markers replaced by ``table``."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {START} ... {END} block")
    return document[: start + len(START)] + "\n" + table + document[end:]


def parse_variants_table(document: str) -> list[dict[str, str]]:
    """The rows between the markers of ``document`` as dicts keyed by :data:`COLUMNS` (cells stripped)."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {START} ... {END} block")
    rows = [line.strip() for line in document[start + len(START): end].splitlines() if line.strip()]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    if tuple(header) != COLUMNS:
        raise ValueError(f"unexpected table header {header}")
    return [dict(zip(COLUMNS, (c.strip() for c in row.strip("|").split("|")), strict=True)) for row in rows[2:]]


def main(argv: list[str] | None = None) -> int:
    """Rewrite the table of the built-in variants in the markdown file given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m ganzoo.testing.variants_table docs/variants.md")
    path = Path(args[0])
    path.write_text(replace_table(path.read_text(), variants_table(names=builtin_variants())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
