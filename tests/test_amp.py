"""Mixed precision on CPU: the autocast and loss-scaling code paths (their GPU speed and quality are unmeasured)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from ganzoo.engine import RunDir, TrainConfig, Trainer, train
from ganzoo.plugins import get_registry


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import make_image_folder

    return make_image_folder(tmp_path_factory.mktemp("amp-images"), n=32, size=32)


def _config(images: Path, amp: str, variant: str = "dcgan", steps: int = 2) -> TrainConfig:
    return TrainConfig(variant=variant, dataset=f"folder:{images}", steps=steps, batch_size=8, device="cpu", seed=1,
                       amp=amp, sample_every=1000, checkpoint_every=1)


@pytest.mark.parametrize("variant", ["dcgan", "wgan-gp"])
def test_bf16_autocast_runs_the_networks_in_bf16_and_keeps_float32_weights(images, variant):
    trainer = Trainer(_config(images, "bf16", variant), RunDir(Path("/nonexistent")), get_registry())
    seen: set[torch.dtype] = set()
    conv = next(m for m in trainer.D.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda module, inputs, output: seen.add(output.dtype))
    stats = [trainer.train_step() for _ in range(2)]
    assert torch.bfloat16 in seen  # the critic's convolutions ran under bf16 autocast
    assert all(p.dtype == torch.float32 for p in [*trainer.G.parameters(), *trainer.D.parameters()])
    assert all(torch.isfinite(torch.tensor([s.d_loss, s.g_loss])).all() for s in stats)
    assert trainer.scalers == {}  # bf16 has float32's range: no loss scaling


@pytest.mark.parametrize("variant", ["acgan", "wgan-gp"])
def test_penalties_see_float32_inputs_under_bf16(tmp_path_factory, variant):
    """acgan's classifier term and wgan-gp's penalty run outside autocast on G's bf16 samples, cast to float32."""
    from helpers import make_image_folder

    root = tmp_path_factory.mktemp("classes")
    for name in ("a", "b"):  # one subfolder per class: labels for the conditional variant
        make_image_folder(root / name, n=8, size=32, seed=len(name) + ord(name))
    trainer = Trainer(_config(root, "bf16", variant), RunDir(Path("/nonexistent")), get_registry())
    seen: list[torch.dtype] = []
    spec = next(spec for spec, _ in trainer.penalties)
    original = spec.penalty
    object.__setattr__(spec, "penalty", lambda inputs: (seen.append(inputs.fake.dtype), original(inputs))[1])
    try:
        stats = trainer.train_step()
    finally:
        object.__setattr__(spec, "penalty", original)
    assert seen and set(seen) == {torch.float32} and torch.isfinite(torch.tensor([stats.d_loss, stats.g_loss])).all()


def test_bf16_changes_the_numbers_but_not_the_training_recipe(images):
    runs = {}
    for amp in ("off", "bf16"):
        trainer = Trainer(_config(images, amp), RunDir(Path("/nonexistent")), get_registry())
        trainer.train_step()
        runs[amp] = torch.cat([p.detach().flatten() for p in trainer.G.parameters()])
    assert not torch.equal(runs["off"], runs["bf16"])  # autocast really took effect
    torch.testing.assert_close(runs["off"], runs["bf16"], rtol=0, atol=5e-3)  # one Adam step of 2e-4 at most each


def test_fp16_runs_in_half_precision_with_one_grad_scaler_per_network_checkpointed_and_resumed(images, tmp_path):
    trainer = Trainer(_config(images, "fp16"), RunDir(Path("/nonexistent")), get_registry())
    seen: set[torch.dtype] = set()
    conv = next(m for m in trainer.D.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda module, inputs, output: seen.add(output.dtype))
    trainer.train_step()
    assert torch.float16 in seen
    assert set(trainer.scalers) == {"D", "G"}

    run = train(_config(images, "fp16", steps=2), tmp_path / "run")
    newest = sorted(run.checkpoints.glob("*.safetensors"))[-1]
    with safe_open(newest, "pt") as f:
        saved = {net: json.loads(f.metadata()[f"scaler_{net}"]) for net in ("D", "G")}
    for state in saved.values():  # a scale starts at 65536 and halves on every overflowing step
        assert 0 < state["scale"] <= 2.0**16 and "_growth_tracker" in state

    resumed = Trainer(_config(images, "fp16", steps=3), RunDir(tmp_path / "run"), get_registry())
    assert resumed.restore_latest() == 2
    for net, scaler in resumed.scalers.items():
        assert scaler.get_scale() == pytest.approx(saved[net]["scale"])
    resumed.train_step()
    assert all(torch.isfinite(p).all() for p in resumed.G.parameters())


@pytest.mark.parametrize(("native", "device", "kind", "expected"), [
    (True, "cpu", "image", "bf16"), (False, "cpu", "image", "off"), (True, "cpu", "points", "off"),
    (True, "cuda", "image", "off"), (True, "meta", "image", "off")])
def test_auto_precision_is_bf16_only_for_images_on_a_cpu_with_native_bf16(monkeypatch, native, device, kind, expected):
    from ganzoo.engine import device as devices

    monkeypatch.setattr(devices, "has_native_bf16", lambda: native)
    assert devices.resolve_amp("auto", torch.device(device), kind) == expected
    for explicit in ("off", "bf16", "fp16"):  # an explicit mode is never second-guessed
        assert devices.resolve_amp(explicit, torch.device(device), kind) == explicit


@pytest.mark.parametrize("amx", [True, False])
def test_a_run_records_the_precision_auto_chose_and_repeats_it_from_its_config(monkeypatch, images, tmp_path, amx):
    from ganzoo.engine import device as devices

    monkeypatch.setattr(devices, "has_native_bf16", lambda: amx)
    run = train(_config(images, "auto", steps=1), tmp_path / "run")
    record = json.loads(run.config.read_text())
    assert record["amp"] == ("bf16" if amx else "off") and record["requested"]["amp"] == "auto"
    monkeypatch.setattr(devices, "has_native_bf16", lambda: not amx)  # another machine: the recorded one holds
    again = Trainer(TrainConfig.from_dict(record), RunDir(Path("/nonexistent")), get_registry())
    assert again.config.amp == record["amp"]
