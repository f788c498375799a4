"""The linear learning-rate decay at the end of a run: its shape, what the optimizers really use, and its record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganzoo.engine import RunDir, TrainConfig, Trainer, train
from ganzoo.engine.loop import lr_factor
from ganzoo.errors import ConfigError
from ganzoo.plugins import get_registry


def test_the_factor_is_one_then_falls_linearly_to_one_step_above_zero():
    factors = [lr_factor(step, 10, 0.5) for step in range(10)]
    assert factors == pytest.approx([1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2])
    assert [lr_factor(step, 10, 0.0) for step in range(10)] == [1.0] * 10
    assert lr_factor(0, 10, 1.0) == 1.0 and lr_factor(9, 10, 1.0) == pytest.approx(0.1)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import make_image_folder

    return make_image_folder(tmp_path_factory.mktemp("lr-decay"), n=16, size=28)


def _config(images: Path, **options) -> TrainConfig:
    return TrainConfig(variant="dcgan", dataset=f"folder:{images}", batch_size=4, z_dim=8, device="cpu",
                       amp="off", fid_every=0, lr_g=1e-3, lr_d=3e-3, **options)


def test_both_optimizers_step_with_the_scheduled_rates(images):
    trainer = Trainer(_config(images, steps=4, lr_decay=0.5), RunDir(Path("/nonexistent")), get_registry())
    seen = []
    for _ in range(4):
        trainer.train_step()
        seen += [trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]]
    assert seen == pytest.approx([1e-3, 3e-3, 1e-3, 3e-3, 1e-3, 3e-3, 5e-4, 1.5e-3])


def test_the_variant_default_is_recorded_and_a_bad_fraction_is_refused(images, tmp_path):
    run = train(_config(images, steps=1), tmp_path / "run")
    expected = get_registry().variant("dcgan").defaults.lr_decay
    assert json.loads(run.config.read_text())["lr_decay"] == expected
    for bad in (-0.1, 1.5, float("nan"), "half", True):
        with pytest.raises(ConfigError, match="lr-decay"):
            _config(images, steps=1, lr_decay=bad)
