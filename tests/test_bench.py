"""The benchmark harness end to end on tiny data with a cheap extractor registered by a test plugin."""

from __future__ import annotations

import json

import torch
from helpers import make_image_folder, pixel_stats_plugin, registry_with

from ganzoo.bench import BenchConfig, run_bench


def test_bench_trains_scores_and_reports(tmp_path):
    image_folder = make_image_folder(tmp_path / "images", n=200)  # the held-out 10% must cover N
    registry = registry_with(pixel_stats_plugin())
    config = BenchConfig(variant="dcgan", dataset=f"folder:{image_folder}", steps=4, batch_size=8, num_samples=16,
                         extractors=("pixel-stats",), out=str(tmp_path / "bench"), device="cpu")
    result = run_bench(config, registry=registry)
    out = tmp_path / "bench"
    for name in ("metrics.json", "report.md", "report.html", "samples.png", "samples_step0.png", "losses.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    block = metrics["scores"]["pixel-stats"]
    assert metrics["train"]["steps"] == 4
    assert block["final"]["num_fake"] == 16
    for which in ("final", "step0", "floor"):
        assert block[which]["fid"] is not None and block[which]["fid"] >= 0
    assert "pixel-stats" in (out / "report.md").read_text()
    assert result.summary().startswith("dcgan on folder:")

    assert metrics["cached"] == []  # a fresh cache: floor and untrained network computed here

    # a second bench on the same directory reuses the finished run instead of training again, and the floor and
    # the untrained network's scores come from the cache, equal to the first run's
    again = run_bench(config, registry=registry)
    assert again.metrics["scores"]["pixel-stats"] == json.loads(json.dumps(block))
    assert sorted(again.metrics["cached"]) == ["pixel-stats/floor", "pixel-stats/step0"]
    assert "cached, not recomputed" in (out / "report.md").read_text()

    # another seed trains another network: its untrained score is computed, the floor is the same real data
    other = run_bench(BenchConfig(**{**config.__dict__, "seed": 1, "out": str(tmp_path / "bench-s1")}),
                      registry=registry)
    assert other.metrics["cached"] == []  # the floor's KID subsets follow the seed too
    assert other.metrics["scores"]["pixel-stats"]["step0"] != block["step0"]


def test_bench_of_a_given_run_scores_it_as_the_bench_that_trained_it(tmp_path):
    """`bench --run RUN` takes the run's own training seed, so it draws the same scoring noise as the bench that
    trained RUN and reports the same numbers (an explicit --seed still wins)."""
    image_folder = make_image_folder(tmp_path / "images", n=200)
    registry = registry_with(pixel_stats_plugin())
    common = dict(dataset=f"folder:{image_folder}", num_samples=16, extractors=("pixel-stats",), device="cpu")
    trained = run_bench(BenchConfig(variant="dcgan", steps=3, batch_size=8, seed=1, out=str(tmp_path / "a"),
                                    **common), registry=registry)
    rescored = run_bench(BenchConfig(run=str(tmp_path / "a" / "run"), out=str(tmp_path / "b"), **common),
                         registry=registry)
    assert (rescored.metrics["seed"], rescored.metrics["sample_seed"]) == (1, 2)
    assert rescored.metrics["scores"]["pixel-stats"]["final"] == trained.metrics["scores"]["pixel-stats"]["final"]
    other = run_bench(BenchConfig(run=str(tmp_path / "a" / "run"), seed=5, out=str(tmp_path / "c"), **common),
                      registry=registry)
    assert (other.metrics["seed"], other.metrics["sample_seed"]) == (5, 6)
    assert other.metrics["scores"]["pixel-stats"]["final"] != trained.metrics["scores"]["pixel-stats"]["final"]


def test_the_untrained_baseline_is_cached_per_network_options(tmp_path):
    """Runs of one variant and seed built with other network options start from other networks: the second must
    not take the first one's untrained score from the cache."""
    import ganzoo

    image_folder = make_image_folder(tmp_path / "images", n=200)
    registry = registry_with(pixel_stats_plugin())
    steps0 = {}
    for width in (8, 16):
        run = ganzoo.train("dcgan", tmp_path / f"run{width}", dataset=f"folder:{image_folder}", steps=1,
                           batch_size=8, device="cpu", network={"g_width": width}, registry=registry)
        result = run_bench(BenchConfig(run=str(run.root), num_samples=16, extractors=("pixel-stats",),
                                       out=str(tmp_path / f"bench{width}"), device="cpu"), registry=registry)
        assert "pixel-stats/step0" not in result.metrics["cached"]
        steps0[width] = result.metrics["scores"]["pixel-stats"]["step0"]["fid"]
    assert steps0[8] != steps0[16]


def test_bench_scores_the_untrained_network_with_the_cheap_extractor_only(tmp_path):
    """Where a dataset has its own (cheap) extractor, a general one such as Inception skips the untrained baseline."""
    image_folder = make_image_folder(tmp_path / "images", n=200)
    registry = registry_with(pixel_stats_plugin(datasets=("folder",), name="cheap"),
                             pixel_stats_plugin(name="general"))
    config = BenchConfig(variant="dcgan", dataset=f"folder:{image_folder}", steps=2, batch_size=8, num_samples=16,
                         extractors=("cheap", "general"), out=str(tmp_path / "bench"), device="cpu")
    result = run_bench(config, registry=registry)
    scores = result.metrics["scores"]
    assert scores["cheap"]["step0"]["fid"] is not None
    assert scores["general"]["step0"] == {} and scores["general"]["final"]["fid"] is not None
    assert "not by general (n/a)" in result.report_md.read_text()
    assert "untrained" not in result.summary().split("general FID")[1]


def test_bench_step0_baseline_is_the_trainers_initial_network(tmp_path, image_folder):
    """The untrained baseline must be exactly the weights training started from (same seed)."""
    from ganzoo.engine import TrainConfig, Trainer
    from ganzoo.engine.loop import seed_everything
    from ganzoo.engine.rundir import RunDir
    from ganzoo.models import build
    from ganzoo.plugins import get_registry

    registry = get_registry()
    run = RunDir(tmp_path / "run")
    run.prepare(fresh=True)
    config = TrainConfig("dcgan", dataset=f"folder:{image_folder}", seed=3, image_size=32, batch_size=8)
    trainer = Trainer(config, run, registry)
    seed_everything(3)
    g, _ = build(registry.variant("dcgan"), trainer.G.data_shape, trainer.G.z_dim, **trainer.config.network)
    for a, b in zip(g.state_dict().values(), trainer.G.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_seed_summary_is_the_mean_and_sample_sd_of_each_seeds_scores(tmp_path):
    import statistics

    from ganzoo.seed_summary import summarize_seeds

    image_folder = make_image_folder(tmp_path / "images", n=200)
    registry = registry_with(pixel_stats_plugin())
    results = [run_bench(BenchConfig(variant="dcgan", dataset=f"folder:{image_folder}", steps=2, batch_size=8,
                                     num_samples=16, extractors=("pixel-stats",), seed=seed,
                                     out=str(tmp_path / f"s{seed}"), device="cpu"), registry=registry)
               for seed in (0, 1, 2)]
    summary = summarize_seeds(results, tmp_path / "seeds")
    fids = [r.metrics["scores"]["pixel-stats"]["final"]["fid"] for r in results]
    assert len(set(fids)) == 3  # three different networks
    row = summary.table["pixel-stats fid"]
    assert row["mean"] == statistics.fmean(fids) and row["sd"] == statistics.stdev(fids)
    assert (row["min"], row["max"], row["values"]) == (min(fids), max(fids), fids)
    assert summary.seeds == [0, 1, 2] and summary.headline == f"pixel-stats fid {row['mean']:.2f} ± {row['sd']:.2f}"
    stored = json.loads((tmp_path / "seeds" / "seeds.json").read_text())
    assert stored["scores"]["pixel-stats fid"]["mean"] == row["mean"] and stored["seeds"] == [0, 1, 2]
    assert f"| pixel-stats fid | {row['mean']:.4g} ± {row['sd']:.2g} |" in (tmp_path / "seeds" / "seeds.md").read_text()
