"""What a new user tripped over, trying the docs' commands one by one (issue 15). ``ganzoo bench`` on the cheap 2-D
ring8 benchmark: a reused run is said even under -q and keeps its own training time, the comparison plot shows a
score, the point-data report speaks of what it measured, its scatter plots share their axes, and --run reports land
where --help says. Elsewhere: a disabled plugin's variant is named as such, loss plots name their run, and resuming a
finished run draws no progress bar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ganzoo.cli import main

RING = ["--dataset", "ring8", "--steps", "2", "--batch-size", "8", "--num-samples", "200", "--device", "cpu", "-q"]


def test_a_reused_run_is_said_under_quiet_and_keeps_its_training_time(tmp_path, capsys):
    out = tmp_path / "bench"
    main(["bench", "gan", *RING, "--out", str(out)])
    first = json.loads((out / "metrics.json").read_text())
    assert "note:" not in capsys.readouterr().err
    main(["bench", "gan", *RING, "--out", str(out)])
    assert "note: scored the finished run in" in capsys.readouterr().err
    again = json.loads((out / "metrics.json").read_text())
    assert again["train"]["reused"] is True and first["train"]["reused"] is False
    assert again["train"]["train_s"] == first["train"]["train_s"] > 0  # the run's own seconds, not the check's


def test_the_comparison_plots_a_score_not_a_count(tmp_path, monkeypatch):
    import matplotlib.axes

    plotted = []
    real_bar = matplotlib.axes.Axes.bar

    def spy(self, x, height, *args, **kwargs):
        plotted.append(list(height))
        return real_bar(self, x, height, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "bar", spy)
    main(["bench", "gan", "wgan", *RING, "--out", str(tmp_path / "cmp")])
    table = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "toy num_modes" in table  # the count stays in the table...
    assert plotted and plotted[-1] != [8.0, 8.0]  # ...but the bars show a score that can differ


def test_the_point_data_report_speaks_of_its_own_measures_on_shared_axes(tmp_path, monkeypatch):
    import ganzoo.plots

    seen = []
    real = ganzoo.plots.save_scatter

    def spy(points, path, reference=None, title="", limits=None):
        seen.append(limits)
        return real(points, path, reference, title, limits)

    monkeypatch.setattr(ganzoo.plots, "save_scatter", spy)
    main(["bench", "gan", *RING, "--out", str(tmp_path / "ring")])
    text = (tmp_path / "ring" / "report.md").read_text()
    intro = text.split("\n\n")[1]
    assert "FID" not in intro and "KID" not in intro and "ring8's own measures" in intro
    assert "| scored by |" in text and "| ring8's own | modes_covered |" in text
    assert seen[-2] == seen[-1] and seen[-1] is not None  # the report's two plots (after the run's own grids)


def test_bench_run_reports_go_where_help_says(tmp_path, monkeypatch):
    from ganzoo.cli import bench

    monkeypatch.chdir(tmp_path)
    main(["train", "gan", "--dataset", "ring8", "--steps", "2", "--batch-size", "8", "--out", "myrun", "-q"])
    main(["bench", "--run", "myrun", "--num-samples", "200", "--device", "cpu", "-q"])
    assert (tmp_path / "bench-runs" / "gan-scored-myrun" / "report.md").is_file()
    help_text = next(p for p in bench.params if p.name == "out").help
    assert "with --run / --checkpoint, bench-runs/NAME-scored-RUNDIR" in help_text


def test_a_disabled_plugins_variant_is_named_as_such(tmp_path):
    from helpers import make_distribution

    plugin = '''
import ganzoo
from ganzoo_plugins.vanilla import MLPDiscriminator, MLPGenerator


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    register(ganzoo.VariantSpec("example-mlp", "an MLP GAN from outside", MLPGenerator, MLPDiscriminator,
                                "non_saturating"))
'''
    site = make_distribution(tmp_path / "site", "ganzoo-mlp", "0.1.0", {"mlp": "ganzoo_mlp"}, {"ganzoo_mlp": plugin})
    env = {k: v for k, v in os.environ.items() if k != "GANZOO_PLUGINS"}
    env.update(PYTHONPATH=str(site), OMP_NUM_THREADS="1", GANZOO_DISABLE_PLUGINS="1")
    result = subprocess.run([sys.executable, "-m", "ganzoo", "info", "example-mlp"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2
    err = result.stderr.strip()
    assert err.startswith("error: unknown variant 'example-mlp' (it may come from a plugin that is disabled: "
                          "mlp (ganzoo-mlp)")
    assert "GANZOO_DISABLE_PLUGINS" in err and "did you mean" not in err and len(err.splitlines()) == 1


def test_loss_plots_name_the_run(tmp_path, monkeypatch):
    import ganzoo.plots

    titles = []
    real = ganzoo.plots.plot_losses
    monkeypatch.setattr(ganzoo.plots, "plot_losses",
                        lambda records, path, title="": titles.append(title) or real(records, path, title))
    main(["train", "gan", "--dataset", "ring8", "--steps", "2", "--batch-size", "8", "--out",
          str(tmp_path / "ringrun"), "-q"])
    assert titles == ["ringrun: gan on ring8"]
    assert Path(tmp_path / "ringrun" / "losses.png").is_file()


def test_resuming_a_finished_run_draws_no_bar(tmp_path, capsys):
    run = tmp_path / "done"
    main(["train", "gan", "--dataset", "ring8", "--steps", "2", "--batch-size", "8", "--out", str(run), "-q"])
    capsys.readouterr()
    main(["train", "--resume", str(run)])
    captured = capsys.readouterr()
    assert "%" not in captured.err and "it/s" not in captured.err and "step/s" not in captured.err, captured.err
    assert captured.out.strip() == f"{run} has already reached step 2; pass a larger --steps to train longer"


def test_bench_and_fid_are_in_the_python_api(tmp_path):
    import ganzoo

    result = ganzoo.bench("gan", dataset="ring8", steps=2, batch_size=8, num_samples=200, device="cpu",
                          out=str(tmp_path / "api"))
    assert result.report_md.is_file() and result.metrics["variant"] == "gan"
    assert callable(ganzoo.fid) and {"bench", "fid", "export", "interpolate"} <= set(ganzoo.__all__)


def test_image_reports_pair_precision_with_recall_and_explain_a_negative_kid():
    from ganzoo.report import _intro

    block = {"final": {"precision": 0.9, "kid_mean": 0.01}, "step0": {"precision": 1.0},
             "floor": {"precision": 0.87, "kid_mean": -0.0004}}
    text = _intro({"num_samples": 500, "sample_seed": 1, "dataset": "mnist", "scores": {"inception": block}})
    assert "read it with recall" in text and "untrained" in text
    assert "KID is unbiased, so at small N a score can fall slightly below 0" in text
