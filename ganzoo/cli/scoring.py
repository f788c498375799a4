"""``ganzoo bench`` and ``ganzoo fid``: train or load, sample and score; FID between any two sources."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ganzoo.cli.common import SAMPLE_COUNT, SEED, load_registry, progress_events, recipe_options
from ganzoo.cli.completion import variant_completer, weights_completer
from ganzoo.config_file import config_option
from ganzoo.errors import GanzooError


@click.command()
@click.argument("names", nargs=-1, shell_complete=variant_completer())
@click.option("--all", "all_", is_flag=True, help="Benchmark every registered variant that fits the dataset.")
@click.option("--dataset", help="Dataset to train on and score against (default: the variant's; with --run, "
              "--checkpoint or --pretrained: what the weights trained on).")
@click.option("--data-dir", type=click.Path())
@click.option("--steps", type=int, help="Training steps (default: the variant's).")
@click.option("--batch-size", type=int, help="Training batch size (default: the variant's).")
@click.option("--seed", type=SEED, help="Training seed; the scoring noise is seed + 1 (default: 0; with --run, "
              "--checkpoint or --pretrained: the seed the weights trained with).")
@click.option("--seeds", help="Several seeds, comma-separated (0,1,2): one benchmark each, then mean ± sd.")
@click.option("--device", default="auto", show_default=True)
@click.option("--amp", type=click.Choice(["auto", "off", "bf16", "fp16"]), default="auto", show_default=True,
              help="Training precision, as for `ganzoo train`; scoring is always fp32.")
@recipe_options
@click.option("--num-samples", type=SAMPLE_COUNT,
              help="Generated and real samples per score (default: 2100 for images).")
@click.option("--extractor", "extractors", multiple=True,
              help="Feature extractor(s) for image data (default: all that apply; point data: its dataset scores it).")
@click.option("--run", "run_dir", type=click.Path(), help="Score an existing run directory instead of training.")
@click.option("--checkpoint", type=click.Path(), help="Score this checkpoint file instead of training.")
@click.option("--pretrained", metavar="WEIGHTS", shell_complete=weights_completer,
              help="Score each named variant's trained weights WEIGHTS (e.g. mnist) "
              "instead of training: no training at all.")
@click.option("--out", type=click.Path(),
              help="Report directory (default: bench-runs/NAME-DATASET-sSEED; with --run / --checkpoint, "
                   "bench-runs/NAME-scored-RUNDIR; with --pretrained W, bench-runs/NAME-pretrained-W-sSEED).")
@config_option("bench")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def bench(names, all_, dataset, data_dir, steps, batch_size, seed, seeds, device, amp, regs, nets, lr_g, lr_d,
          ema_decay, lr_decay, num_samples, extractors, run_dir, checkpoint, pretrained, out, config, quiet) -> None:
    """Train (or load) variants, sample them and score them; writes metrics.json and report.md / .html.

    A finished run of the same configuration in the report directory is reused (said even with -q); options may
    come from a TOML file (--config bench.toml, keys as the options).
    """
    from ganzoo.bench import BenchConfig, run_bench
    from ganzoo.report import write_comparison
    from ganzoo.seed_summary import summarize_seeds

    seed_list = _seed_list(seeds) if seeds else [seed]
    if seeds and (run_dir or checkpoint):
        raise click.UsageError("--seeds trains one run per seed; it cannot score a given --run / --checkpoint")
    registry = load_registry()
    if all_:
        names = tuple(n for n in registry.names("variant") if _fits(registry, n, dataset))
        if not names:
            raise GanzooError(f"no registered variant trains on dataset {dataset!r}")
    if not names and not (run_dir or checkpoint):
        raise click.UsageError("name a variant (see `ganzoo list`), use --all, or score a --run / --checkpoint")
    if (run_dir or checkpoint) and len(names) > 1:
        raise click.UsageError("--run / --checkpoint score one run; name at most one variant")
    if pretrained is not None and (run_dir or checkpoint or seeds or not names):
        raise click.UsageError("--pretrained scores the named variants' weights: give variant names, without --run, "
                               "--checkpoint or --seeds")
    if pretrained is not None:  # every named variant must have the weights before anything is scored
        if all_:
            names = tuple(n for n in names if f"{n}/{pretrained}" in registry.names("pretrained"))
            if not names:
                raise GanzooError(f"no variant has pretrained weights {pretrained!r} (see `ganzoo list`)")
        for name in names:
            registry.pretrained(name, pretrained)
    if nets and names:  # every variant named takes each network option, before the first of them trains
        _check_network_options(registry, names, nets)
    results = []
    for name in names or (None,):
        per_seed = []
        for one_seed in seed_list:
            where = None
            if out:
                where = os.path.join(out, *([name] if len(names) > 1 else []),
                                     *([f"s{one_seed}"] if len(seed_list) > 1 else []))
            config = BenchConfig(variant=name, dataset=dataset, data_dir=data_dir, steps=steps,
                                 batch_size=batch_size, seed=one_seed, device=device, amp=amp, lr_g=lr_g,
                                 lr_d=lr_d, ema_decay=ema_decay, lr_decay=lr_decay, network=tuple(nets),
                                 regularisers=tuple(regs), num_samples=num_samples,
                                 extractors=tuple(extractors), checkpoint=checkpoint, out=where,
                                 run=f"pretrained:{name}/{pretrained}" if pretrained is not None else run_dir)
            events, state = progress_events(quiet)

            def log(message: str, state: dict = state) -> None:
                if "bar" in state:
                    state.pop("bar").close()
                if not quiet:
                    click.echo(message, err=True)

            result = run_bench(config, registry=registry, events=events, log=log, progress=_bar_factory(quiet))
            if "bar" in state:
                state.pop("bar").close()
            per_seed.append(result)
            if result.metrics["train"].get("reused") and not (run_dir or checkpoint or pretrained is not None):
                click.echo(f"note: scored the finished run in {result.metrics['run']}, trained earlier; choose another "
                           "--out to train afresh", err=True)
            click.echo(result.summary())
            click.echo(f"report: {result.report_md}")
        if len(per_seed) > 1:
            summary = summarize_seeds(per_seed, Path(out or "bench-runs") / f"{per_seed[0].metrics['variant']}-seeds")
            click.echo(f"{summary.variant} over seeds {','.join(map(str, seed_list))}: {summary.headline}")
            click.echo(f"seed summary: {summary.path}")
        results += per_seed
    if len(names) > 1:
        table = write_comparison(results, Path(out or "bench-runs"))
        click.echo(f"comparison: {table}")
        if sum(r.lab is not None for r in results) > 1:
            click.echo(f"side by side: {table.parent / 'lab.html'}")


def _check_network_options(registry, names: tuple[str, ...], nets: tuple[str, ...]) -> None:
    from ganzoo.errors import ConfigError
    from ganzoo.models import unknown_option
    from ganzoo.specs import network_edits

    try:
        options = network_edits(nets)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--net") from None
    for name in names:
        error = unknown_option(registry.variant(name), options)
        if error is not None:
            raise error


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers", param_hint="--seeds") \
            from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise click.BadParameter(f"{text!r}: give distinct non-negative seeds, e.g. 0,1,2", param_hint="--seeds")
    return seeds


def _bar_factory(quiet: bool):
    """A progress factory drawing tqdm bars on stderr (nothing when quiet)."""
    from tqdm import tqdm

    def open_bar(description: str, total: int, unit: str):
        return tqdm(total=total, desc=description, unit=unit, disable=quiet, dynamic_ncols=True, leave=False)

    return open_bar


def _fits(registry, variant: str, dataset: str | None) -> bool:
    """Whether ``variant`` trains on ``dataset`` (its own default dataset when None)."""
    from ganzoo.data import parse_dataset_name

    if dataset is None:
        return True
    return registry.dataset(parse_dataset_name(dataset)[0]).kind in registry.variant(variant).data_kinds


@click.command()
@click.argument("a", type=click.Path())
@click.argument("b", type=click.Path())
@click.option("--extractor", default="inception", show_default=True)
@click.option("--num-samples", type=SAMPLE_COUNT, default=10000, show_default=True,
              help="Images drawn from a folder or a dataset, or generated from a run.")
@click.option("--image-size", type=click.IntRange(min=1),
              help="Size a dataset side is read at (default: a run side's image size, else 32).")
@click.option("--save-stats", type=click.Path(), help="Also save A's statistics to this .npz (pytorch-fid style).")
@click.option("--device", default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def fid(a, b, extractor, num_samples, image_size, save_stats, device, as_json, quiet) -> None:
    """FID (and KID, precision/recall where features allow) between A and B.

    A and B are each a folder of images, an .npz of statistics (mu, sigma), a run directory (or checkpoint), or a
    dataset as NAME[:SPLIT] (mnist:test, cifar10:train; the test split by default). A folder of images of one size
    is read as it is; a folder of mixed sizes is resized on the shorter side and center-cropped to the median
    shorter side first (the output says which).
    """
    import ganzoo

    if not quiet and not as_json:
        click.echo(f"extracting {extractor} features of up to {num_samples} images per side; the bars show the time "
                   "left (a smaller --num-samples is quicker and noisier)", err=True)
    result = ganzoo.fid(a, b, extractor=extractor, num_samples=num_samples, device=device, image_size=image_size,
                        save_stats=save_stats, registry=load_registry(), progress=_bar_factory(quiet or as_json))
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    for side, n in (("a", result["num_real"]), ("b", result["num_fake"])):
        source = result["sources"][side]
        rule = f"; {source['preprocessing']}" if source.get("preprocessing") else ""
        click.echo(f"{side.upper()}: {source['path']} ({source['kind']}, n={n}{rule})")
    click.echo(f"extractor: {extractor} ({result['feature_dim']}-d)")
    click.echo(f"fid: {result['fid']:.6g}")
    skipped = result.get("skipped", {})
    if result.get("kid_mean") is not None:
        click.echo(f"kid: {result['kid_mean']:.6g} ± {result['kid_std']:.2g} (subsets of "
                   f"{result.get('kid_subset_size')}; unbiased, so it can be slightly negative)")
    elif "kid_mean" in skipped:
        click.echo(f"kid: n/a ({skipped['kid_mean']})")
    if result.get("precision") is not None:
        click.echo(f"precision: {result['precision']:.6g}, recall: {result['recall']:.6g} "
                   f"(k={result.get('pr_k')}; read them together)")
    elif "precision" in skipped:
        click.echo(f"precision, recall: n/a ({skipped['precision']})")
    if result.get("is_mean") is not None:
        click.echo(f"inception score of B alone: {result['is_mean']:.6g} ± {result['is_std']:.2g}")
    if result.get("saved_stats"):
        click.echo(f"saved A's statistics to {result['saved_stats']}")
