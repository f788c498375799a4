"""`ganzoo bench` trains with the recipe options `ganzoo train` takes (--lr-g, --lr-d, --ema-decay, --lr-decay,
--net, --reg); a report names every setting that is not the variant's default, whether the bench trained the run or
scored one trained elsewhere."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from helpers import make_image_folder, pixel_stats_plugin, registry_with

import ganzoo
from ganzoo.bench import BenchConfig, run_bench
from ganzoo.cli import cli
from ganzoo.engine import TrainConfig, resolve
from ganzoo.errors import ConfigError
from ganzoo.recipe import recipe_departures
from ganzoo.report import departures_text


@pytest.fixture
def setup(tmp_path):
    images = make_image_folder(tmp_path / "images", n=64)
    registry = registry_with(pixel_stats_plugin())
    common = dict(dataset=f"folder:{images}", steps=1, batch_size=8, num_samples=16, extractors=("pixel-stats",),
                  device="cpu")
    return registry, common


def test_the_bench_trains_with_the_recipe_it_is_given_and_its_report_names_it(tmp_path, setup):
    registry, common = setup
    result = run_bench(BenchConfig(variant="dcgan", out=str(tmp_path / "b"), lr_g=1e-3, ema_decay=0.0,
                                   network=("g_width=16",), regularisers=("r1=5",), **common), registry=registry)
    stored = json.loads((result.out / "run" / "config.json").read_text())
    assert stored["lr_g"] == 1e-3 and stored["ema_decay"] == 0.0 and stored["regularisers"] == {"r1": 5.0}
    assert stored["network"]["g_width"] == 16
    assert result.metrics["train"]["departures"] == {"regularisers": {"r1": 5.0}, "network": {"g_width": 16},
                                                     "lr_g": 1e-3, "ema_decay": 0.0}
    line = result.report_md.read_text().splitlines()[2]
    assert "not the variant defaults: regularisers r1=5, network g_width=16, lr_g 0.001, ema_decay 0" in line
    assert "not the variant defaults: regularisers r1=5" in (result.out / "report.html").read_text()


def test_another_recipe_in_the_same_report_folder_is_refused(tmp_path, setup):
    registry, common = setup
    out = str(tmp_path / "b")
    run_bench(BenchConfig(variant="dcgan", out=out, **common), registry=registry)
    with pytest.raises(ConfigError, match="another configuration"):
        run_bench(BenchConfig(variant="dcgan", out=out, lr_d=3e-4, **common), registry=registry)
    again = run_bench(BenchConfig(variant="dcgan", out=out, **common), registry=registry)
    assert again.metrics["train"]["reused"] and again.metrics["train"]["departures"] == {}


def test_a_run_trained_elsewhere_is_reported_with_its_departures(tmp_path, setup):
    registry, common = setup
    run = ganzoo.train("dcgan", tmp_path / "run", dataset=common["dataset"], steps=1, batch_size=8, device="cpu",
                       lr_decay=0.0, registry=registry)
    scoring = {k: v for k, v in common.items() if k not in ("steps", "batch_size", "dataset")}
    result = run_bench(BenchConfig(run=str(run.root), out=str(tmp_path / "b"), **scoring), registry=registry)
    assert result.metrics["train"]["departures"] == {"lr_decay": 0.0}


@pytest.mark.parametrize("options, message", [
    (dict(network=("g_width",)), "--net: 'g_width' is not KEY=VALUE"),
    (dict(regularisers=("r1=lots",)), "--reg: 'r1=lots': 'lots' is not a number"),
    (dict(run="r", lr_g=1e-3, network=("g_width=8",)), "--lr-g, --net do not apply"),
])
def test_malformed_or_misplaced_recipe_options_are_refused_before_anything_runs(options, message):
    with pytest.raises(ConfigError, match=message):
        BenchConfig(variant="dcgan", **options)


def test_a_misspelt_network_option_is_one_line_and_writes_nothing(tmp_path, setup):
    registry, common = setup
    with pytest.raises(ConfigError, match="did you mean 'g_width'"):
        run_bench(BenchConfig(variant="dcgan", out=str(tmp_path / "b"), network=("g_widht=8",), **common),
                  registry=registry)
    assert not (tmp_path / "b").exists()


def test_the_cli_passes_the_recipe_options_through(tmp_path, setup, monkeypatch):
    seen = []
    monkeypatch.setattr("ganzoo.bench.run_bench", lambda config, **kw: seen.append(config) or (_ for _ in ()).throw(
        ConfigError("stop here")))
    result = CliRunner().invoke(cli, ["bench", "dcgan", "--lr-g", "1e-3", "--lr-d", "2e-4", "--ema-decay", "0.99",
                                      "--lr-decay", "0", "--net", "g_width=16", "--reg", "r1=5", "--reg", "r2=off"])
    assert isinstance(result.exception, ConfigError) and str(result.exception) == "stop here"
    config = seen[0]
    assert (config.lr_g, config.lr_d, config.ema_decay, config.lr_decay) == (1e-3, 2e-4, 0.99, 0.0)
    assert config.network == ("g_width=16",) and config.regularisers == ("r1=5", "r2=off")


def test_departures_of_a_default_config_are_none_and_the_text_is_empty(setup):
    registry, common = setup
    config = resolve(TrainConfig(variant="dcgan", dataset=common["dataset"], device="cpu"), registry)
    assert recipe_departures(config, registry) == {}
    assert departures_text({}) == "" and departures_text({"regularisers": {}}, "; ") == "; regularisers none"


def test_a_network_option_one_of_several_variants_lacks_stops_the_bench_before_any_trains(tmp_path, monkeypatch):
    trained = []
    monkeypatch.setattr("ganzoo.bench.run_bench", lambda config, **kw: trained.append(config.variant))
    result = CliRunner().invoke(cli, ["bench", "dcgan", "gan", "--net", "g_width=16", "--out", str(tmp_path / "b")])
    assert isinstance(result.exception, ConfigError) and trained == []
    assert str(result.exception).startswith("variant 'gan' has no network option 'g_width'")
    result = CliRunner().invoke(cli, ["bench", "dcgan", "--net", "g_width"])
    assert result.exit_code == 2 and "Invalid value for --net: 'g_width' is not KEY=VALUE" in result.output


def test_a_network_option_on_point_data_is_one_clear_line(tmp_path):
    from ganzoo.plugins import get_registry

    out = tmp_path / "b"
    with pytest.raises(ConfigError, match="cannot be built with these options: width applies to the image networks"):
        run_bench(BenchConfig(variant="gan", dataset="ring8", steps=1, batch_size=8, num_samples=50, device="cpu",
                              network=("width=32",), out=str(out)), registry=get_registry())
    assert not out.exists()


def test_shipped_weights_scored_twice_are_not_called_a_finished_training_run(tmp_path, capsys):
    from ganzoo.cli import main

    args = ["bench", "dcgan", "--pretrained", "mnist", "--num-samples", "16", "--extractor", "mnist-classifier",
            "--device", "cpu", "-q", "--out", str(tmp_path / "b")]
    main(args)
    main(args)  # the same weights rescored into their own report
    assert "note: scored the finished run" not in capsys.readouterr().err


def test_the_comparison_and_the_seed_summary_name_the_recipe(tmp_path, setup):
    from ganzoo.report import write_comparison
    from ganzoo.seed_summary import summarize_seeds

    registry, common = setup
    changed = [run_bench(BenchConfig(variant="dcgan", out=str(tmp_path / f"s{seed}"), seed=seed, lr_d=3e-4,
                                     **common), registry=registry) for seed in (0, 1)]
    default = run_bench(BenchConfig(variant="dcgan", out=str(tmp_path / "d"), **common), registry=registry)
    table = write_comparison([*changed, default], tmp_path / "cmp").read_text()
    header, _, first, second, third = table.splitlines()[2:7]
    assert "| not the variant defaults |" in header
    assert "| lr_d 0.0003 |" in first and "| lr_d 0.0003 |" in second and "| - |" in third
    assert "not the variant defaults" not in write_comparison([default], tmp_path / "cmp1").read_text()
    seeds = summarize_seeds(changed, tmp_path / "seeds").path.read_text()
    assert "Not the variant defaults: lr_d 0.0003." in seeds
