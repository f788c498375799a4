"""Benchmark reports: ``metrics.json``, ``report.md`` and a self-contained ``report.html`` (rendered from the Jinja2
template ``ganzoo/templates/report.html``)."""

from __future__ import annotations

import base64
import json
import shlex
import shutil
from pathlib import Path
from typing import Any

from ganzoo.engine.checkpoint import atomic_write

_SHOWN = (("fid", "FID", "lower is better"), ("kid_mean", "KID", "lower is better"),
          ("precision", "precision", "higher is better, read with recall"), ("recall", "recall", "higher is better"),
          ("is_mean", "IS", "higher is better"), ("modes_covered", "modes covered", "higher is better"),
          ("mode_kl", "mode KL", "lower is better"))


_COUNTS = ("num_modes", "modes_total")  # sizes of the target, the same for every run: nothing to compare


def departures_text(departures: dict[str, Any] | None, lead: str = "") -> str:
    """``lead`` and the recipe settings that differ from the variant's defaults (``lr_g 0.001, network
    g_width=96``); empty when there are none."""
    if not departures:
        return ""

    def shown(value: Any) -> str:
        if isinstance(value, dict):
            return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items()) or "none"
        return f"{value:g}" if isinstance(value, float) else str(value)

    return lead + ", ".join(f"{name} {shown(value)}" for name, value in departures.items())


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


def find_anchor(variant: str, dataset: str, num_samples: int, start: Path | None = None) -> dict[str, Any] | None:
    """The hand-written reference run recorded by ``benchmarks/anchor_dcgan.py``, if this checkout has one for
    the same variant family, dataset and sample count."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        path = folder / "benchmarks" / "results" / "anchor_dcgan.json"
        if path.is_file():
            try:
                anchor = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                return None
            if anchor.get("dataset") == dataset and anchor.get("num_samples") == num_samples and variant == "dcgan":
                return anchor
            return None
    return None


def _score_rows(metrics: dict[str, Any]) -> list[list[str]]:
    rows = []
    for extractor, block in metrics.get("scores", {}).items():
        for key, label, better in _SHOWN:
            final = block["final"].get(key)
            if final is None and block["floor"].get(key) is None:
                continue
            rows.append([extractor, f"{label} ({better})", _fmt(final), _fmt(block["step0"].get(key)),
                         _fmt(block["floor"].get(key))])
    return rows


def _toy_rows(metrics: dict[str, Any]) -> list[list[str]]:
    toy = metrics.get("toy")
    if not toy:
        return []
    return [[f"{metrics['dataset']}'s own", key, _fmt(value), _fmt(toy["step0"].get(key)),
             _fmt(toy["floor"].get(key))] for key, value in toy["final"].items()]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _anchor_line(metrics: dict[str, Any]) -> str:
    """The recorded hand-written anchor, stated as what it is: a run measured elsewhere and at another time, with
    its own training budget, never a side-by-side comparison with this run."""
    anchor = metrics.get("anchor")
    if not anchor:
        return ("No anchor recorded for this variant, dataset and sample count "
                "(see `benchmarks/anchor_dcgan.py` and docs/benchmarks.md).")
    ours = metrics["scores"].get("inception", {}).get("final", {}).get("fid")
    theirs = anchor.get("inception_fid")
    if ours is None or theirs is None:
        return "Anchor recorded, but no Inception FID to compare."
    machine = anchor.get("machine") or {}
    where = ", ".join(str(x) for x in (machine.get("processor"), f"{machine.get('torch_threads', '?')} threads")
                      if x)
    when = str(anchor.get("date", "an unrecorded date"))[:10]
    mine = metrics.get("machine") or {}
    same_machine = machine.get("processor") == mine.get("processor") and machine.get("platform") == mine.get(
        "platform")
    # the run's own seconds in training steps: also known when the run was trained earlier and only scored now
    seconds = (metrics.get("train") or {}).get("train_s") or metrics["timings_s"].get("training", 0)
    return (f"Anchor, not measured side by side with this run: a plain hand-written DCGAN "
            f"(`benchmarks/anchor_dcgan.py`) reached Inception FID {theirs:.2f} (N={anchor['num_samples']}) after "
            f"{anchor.get('train_seconds', 0):.0f} s of training, measured on {when} on {where or 'another machine'}"
            f"{' (the same kind of machine)' if same_machine else ''}. This run: {ours:.2f} after "
            f"{seconds:.0f} s of training steps. Machines and load differ between "
            "sessions; see docs/benchmarks.md for the side-by-side measurement.")


def _intro(m: dict[str, Any]) -> str:
    """What was scored and how to read it, for image metrics or a point dataset's own scores."""
    seed_note = ("This is one seed: adversarial training amplifies float rounding, so scores move between seeds, "
                 "thread counts and machines; compare methods over several `--seed` values.")
    if not m.get("scores"):
        return (f"scored on N={m['num_samples']} generated points (noise seed {m['sample_seed']}) with "
                f"{m['dataset']}'s own measures against its held-out test points, which score as the floor. "
                + seed_note)
    text = (f"scored on N={m['num_samples']} generated samples (noise seed {m['sample_seed']}) against the held-out "
            "test split. FID and KID are biased by N: compare only at equal N, and read each score against the floor "
            "(two real samples of the same size) and the untrained network.")
    finals = [block["final"] for block in m["scores"].values()] + [block["floor"] for block in m["scores"].values()]
    if any(f.get("precision") is not None for f in finals):
        text += (" Precision is the share of generated samples that land among real ones: a generator that repeats "
                 "a few typical images (even the untrained network's blurry average) can score 1.0 above the floor, "
                 "so read it with recall, the share of real samples the generated ones cover.")
    skipped = [name for name, block in m["scores"].items() if not block["step0"]]
    if skipped:
        text += (f" The untrained network is scored only by the cheap dataset-specific extractor, not by "
                 f"{', '.join(skipped)} (n/a): it only anchors the scale, and would cost minutes of CPU.")
    if any((f.get("kid_mean") or 0) < 0 for f in finals):
        text += (" KID is unbiased, so at small N a score can fall slightly below 0 (as a floor here does): that "
                 "reads as indistinguishable at this N.")
    return f"{text} {seed_note}"


def _markdown(metrics: dict[str, Any], images: dict[str, str]) -> str:
    m = metrics
    header = ["scored by", "metric", f"step {m['train']['steps']}", "step 0 (untrained)",
              f"real train vs test (floor, N={m['num_samples']})"]
    rows = _score_rows(m) + _toy_rows(m)
    timings = " | ".join(f"{k} {v:.1f} s" for k, v in m["timings_s"].items())
    if m.get("cached"):
        timings += f" (cached, not recomputed: {', '.join(m['cached'])})"
    machine = m["machine"]
    cfg = m["train"]["config"]
    parts = [
        f"# ganzoo bench: {m['variant']} on {m['dataset']}",
        "",
        f"Trained {m['train']['steps']} generator steps (batch {cfg['batch_size']}, seed {cfg['seed']}, "
        f"loss {cfg['loss']}{departures_text(m['train'].get('departures'), '; not the variant defaults: ')}); "
        + _intro(m),
        "",
        _md_table(header, rows) if rows else "_No metric applies to this dataset._",
        "",
        _anchor_line(m) if m["scores"] else "",
        "",
        f"![samples]({images['samples']})  ![untrained]({images['samples_step0']})",
        "",
    ]
    if m.get("conditional"):
        parts += _conditional_section(m["conditional"], images)
    if "fid" in images:
        curve = m.get("fid_while_training") or []
        parts += [f"FID while training ({curve[-1]['extractor']}, N={curve[-1]['fid_n']}, against the training "
                  "split; the table above is against the test split):" if curve else "FID while training:", "",
                  f"![FID while training]({images['fid']})", ""]
    if "losses" in images:
        parts += [f"![losses]({images['losses']})", ""]
    parts += [
        f"**Timings:** {timings}",
        "",
        f"**Machine:** {machine['processor']}, {machine['cpu_count']} CPUs, {machine['torch_threads']} torch "
        f"threads, device {machine['device']}, torch {machine['torch']}, ganzoo {machine['ganzoo']}, "
        f"{machine['platform']}",
        "",
        f"**Run directory:** `{m['run']}`; every number above is in `metrics.json`.",
        "",
    ]
    skipped = {f"{ext}/{k}": v for ext, block in m.get("scores", {}).items()
               for k, v in block["final"].get("skipped", {}).items()}
    if skipped:
        parts += ["**Not computed:**", ""] + [f"- {k}: {v}" for k, v in sorted(skipped.items())] + [""]
    return "\n".join(parts)


def _conditional_section(c: dict[str, Any], images: dict[str, str]) -> list[str]:
    """Markdown for a conditional run's class accuracy, intra-FID and Classification Accuracy Score."""
    names = c.get("class_names") or [str(i) for i in range(c.get("num_classes", 0))]
    parts = ["## Class-conditional scores", ""]
    accuracy = c.get("class_accuracy")
    if accuracy:
        parts += [f"**Class accuracy** ({accuracy['classifier']} on {accuracy['num_samples']} generated samples, an "
                  f"equal number per requested class): **{accuracy['accuracy']:.2%}**", "",
                  _md_table(["class", *names], [["accuracy", *(f"{a:.1%}" for a in accuracy["per_class"])]]), ""]
        if "confusion" in images:
            parts += [f"![confusion matrix]({images['confusion']})", ""]
    for extractor, block in (c.get("intra_fid") or {}).items():
        parts += [f"**Intra-FID** ({extractor} features, {block['per_class_n']} generated vs {block['per_class_n']} "
                  f"test images per class, mean of the per-class FIDs): **{block['intra_fid']:.2f}**", "",
                  _md_table(["class", *names], [["FID", *(f"{f:.2f}" for f in block["per_class"])]]), ""]
    cas = c.get("cas")
    if cas:
        parts += [f"**Classification Accuracy Score** (a fixed small CNN, {cas['steps']} steps of {cas['batch_size']}, "
                  f"Adam {cas['lr']:g}, seed {cas['seed']}; accuracy on the {cas['num_test']} real test images):", "",
                  _md_table(["trained on", "test accuracy"], [
                      [f"{cas['num_generated']} generated images (CAS)", f"{cas['cas']:.2%}"],
                      [f"{cas['num_generated']} real training images (ceiling)", f"{cas['real']:.2%}"],
                      [f"{cas['num_small_real']} real images", f"{cas['small_real']:.2%}"],
                      [f"the same {cas['num_small_real']} real + {cas['num_generated']} generated",
                       f"{cas['small_real_plus_generated']:.2%}"]]), ""]
    for what, why in sorted((c.get("skipped") or {}).items()):
        parts.append(f"- not computed, {what}: {why}")
    return parts + [""]


def _commands(metrics: dict[str, Any]) -> list[str]:
    """Commands that reproduce this report (and its lab page, for point data)."""
    m, cfg = metrics, metrics["train"]["config"]
    common = (f"--dataset {shlex.quote(m['dataset'])} --steps {m['train']['steps']} --batch-size {cfg['batch_size']} "
              f"--seed {m['seed']}")
    commands = [f"ganzoo bench {m['variant']} {common} --num-samples {m['num_samples']}",
                f"ganzoo sample {shlex.quote(m['run'])} -n 64 -o samples.png --seed {m['sample_seed']}"]
    if "toy" in m:
        commands.append(f"ganzoo lab {m['variant']} {common}")
    return commands


_CAPTIONS = {
    "losses": "D and G loss at every training step, raw and smoothed.",
    "fid": "FID while training, against the training split (the table above is against the test split).",
}


def _page(metrics: dict[str, Any], out: Path, images: dict[str, str]) -> str:
    """report.html: the report as a page (Jinja2 template ``report.html``), images inlined so it travels alone."""
    from ganzoo.templating import render

    def data_uri(name: str) -> str:
        return "data:image/png;base64," + base64.b64encode((out / images[name]).read_bytes()).decode()

    m = metrics
    points = "toy" in m
    steps = m["train"]["steps"]
    samples = [
        {"src": data_uri("samples"), "alt": f"samples at step {steps}", "pixels": not points,
         "caption": (f"Step {steps}: {m['num_samples']} generated points over the real test points." if points else
                     f"Step {steps}: 8 samples of each class, one row per class (noise seed {m['sample_seed']})."
                     if m.get("conditional") else
                     f"Step {steps}: 64 samples from fixed noise (seed {m['sample_seed']}).")},
        {"src": data_uri("samples_step0"), "alt": "samples of the untrained network", "pixels": not points,
         "caption": f"Step 0, untrained: 64 samples (noise seed {m['sample_seed']}) from the network training "
                    "started from."},
    ]
    curve = m.get("fid_while_training") or []
    plots = [{"src": data_uri(name), "alt": name, "caption": _CAPTIONS[name]
              + (f" {curve[-1]['extractor']}, N={curve[-1]['fid_n']}." if name == "fid" and curve else "")}
             for name in ("losses", "fid") if name in images]
    skipped = {f"{ext}/{k}": v for ext, block in m.get("scores", {}).items()
               for k, v in block["final"].get("skipped", {}).items()}
    lab = out / "lab.html"
    cond = m.get("conditional")
    if cond:
        cond = {**cond, "names": cond.get("class_names") or [str(i) for i in range(cond.get("num_classes", 0))],
                "confusion": data_uri("confusion") if "confusion" in images else None}
    return render(
        "report.html", m=m, cfg=m["train"]["config"], steps=steps,
        departures=departures_text(m["train"].get("departures"), "; not the variant defaults: "),
        rows=_score_rows(m) + _toy_rows(m),
        anchor=_anchor_line(m) if m["scores"] else "", samples=samples, plots=plots,
        timings=list(m["timings_s"].items()), skipped=sorted(skipped.items()), commands=_commands(m), cond=cond,
        lab={"href": lab.name, "mb": lab.stat().st_size / 1e6} if lab.is_file() else None)


def write_report(out: Path, metrics: dict[str, Any], pictures: dict[str, Path]) -> None:
    """Write metrics.json, report.md and report.html into ``out``, copying the run's ``pictures`` (name -> PNG:
    "losses", "fid") alongside the sample grids."""
    out = Path(out)
    images = {"samples": "samples.png", "samples_step0": "samples_step0.png"}
    if (out / "confusion.png").exists() and metrics.get("conditional"):
        images["confusion"] = "confusion.png"
    for name, source in pictures.items():
        shutil.copyfile(source, out / f"{name}.png")
        images[name] = f"{name}.png"
    metrics["anchor"] = find_anchor(metrics["variant"], metrics["dataset"], metrics["num_samples"])
    atomic_write(out / "metrics.json",
                 lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2, default=str)))
    text = _markdown(metrics, images)
    atomic_write(out / "report.md", lambda tmp: Path(tmp).write_text(text))
    page = _page(metrics, out, images)
    atomic_write(out / "report.html", lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))


def write_comparison(results: list[Any], out: Path) -> Path:
    """``comparison.md``, ``comparison.png`` and, when the runs tracked FID while training,
    ``quality_per_minute.png`` (every run's FID against training minutes, overlaid) across benchmark results."""
    out.mkdir(parents=True, exist_ok=True)
    header = ["variant", "dataset", "steps", "N"]
    keys: list[tuple[str, str]] = []
    for r in results:
        for ext, block in r.metrics.get("scores", {}).items():
            for key, _, _ in _SHOWN:
                if block["final"].get(key) is not None and (ext, key) not in keys:
                    keys.append((ext, key))
        for key in r.metrics.get("toy", {}).get("final", {}):
            if ("toy", key) not in keys:
                keys.append(("toy", key))
    recipes = [departures_text(r.metrics["train"].get("departures")) for r in results]
    header += ["not the variant defaults"] if any(recipes) else []
    header += [f"{ext} {key}" for ext, key in keys] + ["train s"]
    rows = []
    for r, recipe in zip(results, recipes, strict=True):
        m = r.metrics
        row = [m["variant"], m["dataset"], str(m["train"]["steps"]), str(m["num_samples"])]
        row += [recipe or "-"] if any(recipes) else []
        for ext, key in keys:
            block = m.get("toy", {}) if ext == "toy" else m.get("scores", {}).get(ext, {})
            row.append(_fmt(block.get("final", {}).get(key)))
        row.append(_fmt(m["train"].get("train_s")))  # the run's own training time, also when it was reused
        rows.append(row)
    from ganzoo.plots import plot_fid

    curves = {f"{r.metrics['variant']} s{r.metrics['seed']}": r.metrics.get("fid_while_training") or []
              for r in results}
    qpm = plot_fid(curves, out / "quality_per_minute.png", title="Quality per minute: FID while training")
    text = "# ganzoo bench comparison\n\n" + _md_table(header, rows) + "\n"
    labs = [r.lab for r in results if getattr(r, "lab", None) is not None]
    if len(labs) > 1:
        from ganzoo.lab import write_page

        write_page(out / "lab.html", labs)
        text += "\nThe runs side by side, step by step, in GAN Lab's views: [lab.html](lab.html)\n"
    if qpm is not None:
        text += ("\nFID while training against the training split, every run overlaid (lower is better; the x axis "
                 "of the right panel counts training steps only):\n\n![quality per minute](quality_per_minute.png)\n")
    path = out / "comparison.md"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    if keys:
        from ganzoo.plots import _pyplot

        plt = _pyplot()
        ext, key = next(((e, k) for e, k in keys if k not in _COUNTS), keys[0])
        values = []
        for r in results:
            block = r.metrics.get("toy", {}) if ext == "toy" else r.metrics.get("scores", {}).get(ext, {})
            values.append(float(block.get("final", {}).get(key) or 0.0))
        fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
        ax.bar([r.metrics["variant"] for r in results], values)
        ax.set_ylabel(f"{ext} {key}")
        fig.tight_layout()
        atomic_write(out / "comparison.png", lambda tmp: fig.savefig(tmp, format="png"))
        plt.close(fig)
    return path
