"""Where a benchmark may write its report, what a failed one leaves behind, and which options conflict."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import make_image_folder, pixel_stats_plugin, registry_with

import ganzoo
from ganzoo.bench import BenchConfig, run_bench
from ganzoo.errors import ConfigError, GanzooError


@pytest.fixture
def scored(tmp_path):
    """A one-step dcgan run on a tiny folder, the registry that scores it cheaply, and the common bench options."""
    images = make_image_folder(tmp_path / "images", n=200)
    registry = registry_with(pixel_stats_plugin())
    run = ganzoo.train("dcgan", tmp_path / "run", dataset=f"folder:{images}", steps=1, batch_size=8, device="cpu",
                       registry=registry)
    common = dict(num_samples=16, extractors=("pixel-stats",), device="cpu")
    return run.root, registry, common


def test_a_report_is_refused_a_folder_that_holds_other_files_and_they_stay_as_they_were(tmp_path, scored):
    run, registry, common = scored
    other = tmp_path / "notes"
    other.mkdir()
    (other / "report.md").write_text("my own notes")
    with pytest.raises(ConfigError, match="already holds files"):
        run_bench(BenchConfig(run=str(run), out=str(other), **common), registry=registry)
    assert [p.name for p in other.iterdir()] == ["report.md"]
    assert (other / "report.md").read_text() == "my own notes"

    # another run's directory is such a folder too: its losses.png must not become this run's
    second = ganzoo.train("dcgan", tmp_path / "run2", dataset=json.loads((run / "config.json").read_text())["dataset"],
                          steps=1, batch_size=8, device="cpu", registry=registry)
    before = {p.name: p.read_bytes() for p in second.root.iterdir() if p.is_file()}
    with pytest.raises(ConfigError, match="already holds files"):
        run_bench(BenchConfig(run=str(run), out=str(second.root), **common), registry=registry)
    assert {p.name: p.read_bytes() for p in second.root.iterdir() if p.is_file()} == before


def test_a_report_never_goes_into_the_run_it_scores(scored):
    run, registry, common = scored
    files = sorted(p.name for p in run.iterdir())
    with pytest.raises(ConfigError, match="is the run being scored"):
        run_bench(BenchConfig(run=str(run), out=str(run), **common), registry=registry)
    assert sorted(p.name for p in run.iterdir()) == files


def test_the_same_run_rescored_into_its_own_report_is_allowed(tmp_path, scored):
    run, registry, common = scored
    out = tmp_path / "report"
    first = run_bench(BenchConfig(run=str(run), out=str(out), **common), registry=registry)
    again = run_bench(BenchConfig(run=str(run), out=str(out), **common), registry=registry)
    assert again.metrics["scores"] == first.metrics["scores"]


def test_a_failed_bench_removes_the_folders_it_created(tmp_path, scored):
    run, registry, common = scored
    out = tmp_path / "new" / "report"
    with pytest.raises(GanzooError):  # a point dataset cannot score an image run; found after sampling
        run_bench(BenchConfig(run=str(run), dataset="ring8", out=str(out), **common), registry=registry)
    assert not (tmp_path / "new").exists()

    # a folder that existed before is kept, and stays empty
    out.mkdir(parents=True)
    with pytest.raises(GanzooError):
        run_bench(BenchConfig(run=str(run), dataset="ring8", out=str(out), **common), registry=registry)
    assert out.is_dir() and not any(out.iterdir())


def test_a_bench_failing_after_it_wrote_its_grids_leaves_the_folder_as_it_found_it(tmp_path, scored, monkeypatch):
    import ganzoo.bench

    def fail(*args, **kwargs):
        raise RuntimeError("scoring broke")

    run, registry, common = scored
    monkeypatch.setattr(ganzoo.bench, "_score_images", fail)
    new, empty = tmp_path / "new" / "report", tmp_path / "empty"
    empty.mkdir()
    for out in (new, empty):
        with pytest.raises(RuntimeError, match="scoring broke"):
            run_bench(BenchConfig(run=str(run), out=str(out), **common), registry=registry)
    assert not (tmp_path / "new").exists()
    assert empty.is_dir() and not any(empty.iterdir())


def test_a_checkpoint_copied_out_of_its_run_is_scored_like_the_run(tmp_path, scored):
    run, registry, common = scored
    newest = sorted((run / "checkpoints").glob("*.safetensors"))[-1]
    loose = tmp_path / "elsewhere" / "copied.safetensors"
    loose.parent.mkdir()
    shutil.copy(newest, loose)
    from_run = run_bench(BenchConfig(run=str(run), out=str(tmp_path / "a"), **common), registry=registry)
    from_copy = run_bench(BenchConfig(checkpoint=str(loose), out=str(tmp_path / "b"), **common), registry=registry)
    assert from_copy.metrics["scores"]["pixel-stats"]["final"] == from_run.metrics["scores"]["pixel-stats"]["final"]


@pytest.mark.parametrize("options, message", [
    (dict(run="r", checkpoint="c.safetensors"), "give one"),
    (dict(run="r", steps=5), "--steps does not apply"),
    (dict(checkpoint="c.safetensors", batch_size=8, amp="off"), "--batch-size, --amp do not apply"),
])
def test_options_that_contradict_scoring_given_weights_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        BenchConfig(**options)


def test_a_run_named_as_dot_gives_the_report_the_runs_folder_name(scored, monkeypatch):
    run, registry, common = scored
    monkeypatch.chdir(run)
    result = run_bench(BenchConfig(run=".", **common), registry=registry)
    assert result.out.as_posix() == f"bench-runs/dcgan-scored-{run.name}"  # was "dcgan-scored-"
