"""Channels-last on CPU (and CUDA, not testable here): convolutional networks train in it (the same maths, up to
rounding), optimizer state keeps it across a checkpoint, other networks keep their layout, and a network that cannot
run channels-last is left as it was without its weights, statistics or the random streams changing."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import make_image_folder
from torch import nn

import ganzoo
from ganzoo.engine import RunDir, TrainConfig, Trainer, loop
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.layout import prefer_channels_last
from ganzoo.plugins import get_registry

CPU = torch.device("cpu")


def _channels_last(t: torch.Tensor) -> bool:
    """Channels-last, and not also plain contiguous (as a tensor with one channel or a 1x1 kernel is)."""
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


def _four_d(*nets: nn.Module) -> list[torch.Tensor]:
    return [p for net in nets for p in net.parameters() if p.dim() == 4]


def _trainer(tmp_path: Path, variant: str = "dcgan", **options) -> Trainer:
    folder = make_image_folder(tmp_path / "images", n=16, size=32, channels=3)
    config = TrainConfig(variant=variant, dataset=f"folder:{folder}", image_size=32, channels=3, batch_size=4,
                         z_dim=8, seed=0, device="cpu", **options)
    return Trainer(config, RunDir(tmp_path / "run"), get_registry())


def test_a_convolutional_variant_trains_channels_last_on_cpu(tmp_path):
    t = _trainer(tmp_path)
    assert t.channels_last
    weights = _four_d(t.G, t.D, t.ema.module)
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    assert any(_channels_last(p) for p in weights)
    assert _channels_last(t._real_batch(0)[0])
    t.train_step()
    states = [s for s in t.opt_d.state_dict()["state"].values() if s["exp_avg"].dim() == 4]
    assert states and all(s["exp_avg"].is_contiguous(memory_format=torch.channels_last) for s in states)


def _three_steps(trainer: Trainer) -> torch.Tensor:
    # one run after the other: noise comes from the global generator, which the Trainer seeds
    return torch.tensor([[s.d_loss, s.g_loss, s.d_real, s.d_fake]
                         for s in (trainer.train_step() for _ in range(3))])


def test_channels_last_is_the_same_training_up_to_rounding(tmp_path, monkeypatch):
    # float32: bf16 (what --amp auto picks on an AMX CPU) rounds differently in each layout, by far more than this
    fast = _trainer(tmp_path / "a", amp="off")
    got = _three_steps(fast)
    monkeypatch.setattr(loop, "prefer_channels_last", lambda *args: False)
    plain = _trainer(tmp_path / "b", amp="off")
    want = _three_steps(plain)
    assert fast.channels_last and not plain.channels_last and not any(_channels_last(p) for p in _four_d(plain.G))
    # compared through the losses: Adam turns rounding in near-zero gradients into +-lr weight steps, which by the
    # third step moves a loss by up to ~3e-4 relative; a layout bug moves them by O(1)
    torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-4)


def test_networks_without_convolutions_keep_their_layout(tmp_path):
    assert not _trainer(tmp_path, variant="gan").channels_last


def test_optimizer_state_is_restored_in_the_parameters_layout():
    conv = nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(conv.parameters())
    conv(torch.randn(2, 3, 5, 5)).sum().backward()
    opt.step()
    tensors, meta = ckpt.optimizer_tensors("opt", opt)
    saved = {k: v.contiguous() for k, v in tensors.items()}  # as a safetensors file holds them
    fresh = torch.optim.Adam(conv.parameters())
    ckpt.load_optimizer("opt", fresh, saved, meta)
    state = fresh.state_dict()["state"][0]
    assert _channels_last(state["exp_avg"]) and _channels_last(state["exp_avg_sq"])
    assert torch.equal(state["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_a_loaded_run_samples_in_the_layout_it_trained_in(tmp_path):
    folder = make_image_folder(tmp_path / "images", n=16, size=32, channels=3)
    run = ganzoo.train("dcgan", tmp_path / "run", dataset=f"folder:{folder}", image_size=32, channels=3,
                       batch_size=4, z_dim=8, steps=1, device="cpu")
    loaded = ganzoo.load(run.root)
    assert any(_channels_last(p) for p in _four_d(loaded.generator, loaded.discriminator, loaded.ema_generator))
    assert not loaded.generator.training and not loaded.discriminator.training
    samples = ganzoo.sample(loaded, 3)
    assert samples.is_contiguous() and samples.view(3, -1).shape == (3, 3 * 32 * 32)  # callers may .view it


class _ConvG(nn.Module):
    """A convolutional generator with a frozen (eval-mode) batch norm and a 5-D parameter, as modulated
    convolutions keep their weights: only 4-D tensors have a channels-last layout."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.ConvTranspose2d(8, 4, 4), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 3, 1))
        self.frozen = nn.BatchNorm2d(3).eval()
        self.style = nn.Parameter(torch.ones(1, 3, 1, 1, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.frozen(self.net(z.view(-1, 8, 1, 1))) * self.style[..., 0]


class _ViewingD(nn.Module):
    """Flattens a conv activation with ``.view``, which a channels-last activation does not allow; it also draws
    from Python's and numpy's random streams, as augmentation code does."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.head = nn.Conv2d(3, 6, 3), nn.Linear(6 * 2 * 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        random.random()
        np.random.rand()
        h = self.conv(x)
        return self.head(h.view(h.shape[0], -1))


class _ReshapingD(_ViewingD):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        random.random()
        np.random.rand()
        return self.head(self.conv(x).flatten(1))


class _ViewsOnlyWhenTrainingD(_ReshapingD):
    """Passes a forward in eval mode and fails in training: the check must run the networks as they train."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) if not self.training else _ViewingD.forward(self, x)


def _everything(*nets: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{i}.{k}": v.clone() for i, net in enumerate(nets) for k, v in net.state_dict().items()}


@pytest.mark.parametrize(("d_class", "converted"),
                         [(_ReshapingD, True), (_ViewingD, False), (_ViewsOnlyWhenTrainingD, False)])
def test_the_layout_check_changes_nothing_but_the_layout(d_class, converted):
    g, d = _ConvG().train(), d_class().train()
    before, modes = _everything(g, d), [m.training for net in (g, d) for m in net.modules()]
    states = torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()
    assert prefer_channels_last(CPU, g, d, (3, 4, 4), 8) is converted
    assert any(_channels_last(p) for p in _four_d(g, d)) is converted
    assert g.style.is_contiguous()  # the 5-D parameter keeps its layout
    assert torch.equal(torch.get_rng_state(), states[0]) and random.getstate() == states[1]
    assert np.array_equal(np.random.get_state()[1], states[2])
    after = _everything(g, d)
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch-norm statistics included
    assert [m.training for net in (g, d) for m in net.modules()] == modes  # the frozen batch norm stays in eval
    assert all(p.grad is None for net in (g, d) for p in net.parameters())  # the check steps copies
    if d_class is not _ViewsOnlyWhenTrainingD:
        d(g(torch.randn(2, 8)))  # and the networks still run


def test_the_layout_is_left_alone_on_devices_where_it_was_not_measured():
    g, d = _ConvG(), _ReshapingD()
    assert not prefer_channels_last(torch.device("mps"), g, d, (3, 4, 4), 8)
    assert not any(_channels_last(p) for p in _four_d(g, d))


def test_single_channel_weights_are_restrided_too():
    """(out, 1, k, k) weights count as channels-last either way; the engine gives them channels-last strides as
    Module.to does, the kernels its recorded benchmark numbers were trained with."""
    g = nn.Sequential(nn.Unflatten(1, (8, 1, 1)), nn.ConvTranspose2d(8, 1, 4))
    d = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(16, 1))
    assert prefer_channels_last(CPU, g, d, (1, 4, 4), 8)
    assert d[0].weight.stride() == (9, 1, 3, 1)
