"""Regularisers as registered components: the built-in penalties against closed forms, the protocols the specs
implement, and the engine applying penalties, constraints and augmentations by role, lazily when asked."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.engine.config import TrainConfig
from ganzoo.engine.loop import Trainer
from ganzoo.engine.rundir import RunDir
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.regularisers import clip_weights_, gradient_norm_penalty


class LinearCritic(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) * self.weight.flatten()).sum(1)


class SquareCritic(nn.Module):
    """D(x) = sum x^2: input gradient 2x, so E||grad||^2 = 4 E||x||^2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).pow(2).sum(1)


def _inputs(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> ganzoo.PenaltyInputs:
    return ganzoo.PenaltyInputs(critic, real, fake, lambda: torch.rand(real.shape[0]))


def test_r1_and_r2_of_a_linear_critic_are_half_the_squared_weight_norm() -> None:
    w = torch.tensor([3.0, 4.0])  # ||w||^2 = 25
    critic = LinearCritic(w)
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    registry = get_registry()
    for name in ("r1", "r2"):
        value = registry.regulariser(name).penalty(_inputs(critic, real, fake))
        assert value.item() == pytest.approx(12.5)


def test_r1_looks_at_real_samples_and_r2_at_generated_ones() -> None:
    real, fake = torch.full((4, 3), 1.0), torch.full((4, 3), 2.0)  # ||x||^2 = 3 and 12
    registry = get_registry()
    assert registry.regulariser("r1").penalty(_inputs(SquareCritic(), real, fake)).item() == pytest.approx(6.0)
    assert registry.regulariser("r2").penalty(_inputs(SquareCritic(), real, fake)).item() == pytest.approx(24.0)


def test_gradient_norm_penalty_trains_the_critic_and_leaves_its_input_alone() -> None:
    critic = LinearCritic(torch.tensor([1.0, 1.0]))
    samples = torch.randn(5, 2)
    penalty = gradient_norm_penalty(critic, samples)
    (grad,) = torch.autograd.grad(penalty, critic.weight)
    torch.testing.assert_close(grad, torch.tensor([1.0, 1.0]))  # d/dw of 0.5 ||w||^2
    assert not samples.requires_grad


def test_weight_clip_is_a_projection() -> None:
    net = nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.5, -0.5, 0.001], [2.0, -3.0, 0.0]]))
    clip_weights_(net, 0.01)
    once = [p.detach().clone() for p in net.parameters()]
    assert max(p.abs().max().item() for p in once) <= 0.01
    clip_weights_(net, 0.01)
    assert all(torch.equal(a, b) for a, b in zip(once, net.parameters(), strict=True))


def test_registered_specs_implement_the_interfaces() -> None:
    registry = get_registry()
    for name in registry.names("loss"):
        assert isinstance(registry.loss(name), ganzoo.Loss)
    for name in registry.names("regulariser"):
        assert isinstance(registry.regulariser(name), ganzoo.Regulariser)
    assert {"gradient_penalty", "weight_clip", "r1", "r2"} <= set(registry.names("regulariser"))


def test_a_regulariser_spec_needs_one_part_and_a_positive_interval() -> None:
    with pytest.raises(ganzoo.PluginError, match="give a callable"):
        ganzoo.RegulariserSpec("empty", "nothing")
    with pytest.raises(ganzoo.PluginError, match="every"):
        ganzoo.RegulariserSpec("lazy", "bad interval", penalty=lambda inputs: torch.zeros(()), every=0)


def test_variant_shorthands_become_registered_regularisers() -> None:
    spec = ganzoo.VariantSpec("v", "s", nn.Identity, nn.Identity, "wasserstein", gradient_penalty=10.0,
                              regularisers={"r1": 1})
    assert spec.regularisers == {"r1": 1.0, "gradient_penalty": 10.0}
    with pytest.raises(ganzoo.PluginError, match="positive number"):
        ganzoo.VariantSpec("v", "s", nn.Identity, nn.Identity, "wasserstein", regularisers={"r1": -1})


# --- the engine applies them by role ------------------------------------------------------------------------------

def _registry_with(*extra: ganzoo.RegulariserSpec) -> Registry:
    base = get_registry()
    registry = Registry()
    registry.add(base.variant("gan"), "test")
    registry.add(base.loss(base.variant("gan").loss), "test")
    registry.add(base.dataset("ring8"), "test")
    for spec in extra:
        registry.add(spec, "test")
    return registry


def _train(registry: Registry, tmp_path, regularisers: dict[str, float], steps: int = 4, n_critic: int = 1):
    config = TrainConfig(variant="gan", dataset="ring8", steps=steps, batch_size=8, n_critic=n_critic,
                         regularisers=regularisers, device="cpu")
    trainer = Trainer(config, RunDir(tmp_path), registry)
    return trainer, [trainer.train_step() for _ in range(steps)]


def test_a_lazy_penalty_runs_on_every_kth_d_step_scaled_by_k(tmp_path) -> None:
    calls: list[int] = []

    def counting(inputs: ganzoo.PenaltyInputs) -> torch.Tensor:
        calls.append(inputs.real.shape[0])
        return inputs.discriminator(inputs.real).pow(2).mean()

    spec = ganzoo.RegulariserSpec("counting", "test penalty", penalty=counting, every=3)
    _, stats = _train(_registry_with(spec), tmp_path, {"counting": 0.5}, steps=4, n_critic=2)  # 8 D steps
    assert len(calls) == 3  # D steps 0, 3 and 6
    assert [("counting" in s.penalties) for s in stats] == [True, True, False, True]
    assert all(json.loads(json.dumps(s.as_dict())) for s in stats)


def test_constraints_and_augmentations_are_applied_by_role(tmp_path) -> None:
    seen: list[tuple[int, ...]] = []

    def flip(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape))
        return -x

    def zero_bias(network: nn.Module, value: float) -> None:
        for name, p in network.named_parameters():
            if name.endswith("bias"):
                p.fill_(value)

    augment = ganzoo.RegulariserSpec("flip", "test augmentation", augment=flip)
    constrain = ganzoo.RegulariserSpec("bias", "test constraint", after_step=zero_bias)
    trainer, _ = _train(_registry_with(augment, constrain), tmp_path, {"flip": 1.0, "bias": 0.25}, steps=2)
    # per step: real and fake in D's step, the generated batch in G's step
    assert len(seen) == 6 and all(shape == (8, 2) for shape in seen)
    assert all(torch.all(p == 0.25) for n, p in trainer.D.named_parameters() if n.endswith("bias"))


def test_training_without_regularisers_overrides_the_variant(tmp_path) -> None:
    registry = get_registry()
    config = TrainConfig(variant="wgan-gp", dataset="ring8", steps=1, batch_size=8, regularisers={}, device="cpu")
    trainer = Trainer(config, RunDir(tmp_path), registry)
    assert trainer.penalties == [] and trainer.constraints == []
    stats = trainer.train_step()
    assert "gradient_penalty" not in stats.as_dict()
