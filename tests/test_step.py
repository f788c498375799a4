"""What one training step computes: G runs once per critic step, and G learns from the samples D's last step saw."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganzoo.engine import RunDir, TrainConfig, Trainer
from ganzoo.plugins import get_registry


def _trainer(tmp_path: Path, n_critic: int) -> Trainer:
    config = TrainConfig(variant="gan", dataset="ring8", steps=4, batch_size=8, n_critic=n_critic, device="cpu",
                         fid_every=0, regularisers={})
    return Trainer(config, RunDir(tmp_path), get_registry())


def _record_forwards(module: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []
    module.register_forward_hook(lambda _m, args, out: calls.append((args[0].detach().clone(), out.detach().clone())))
    return calls


@pytest.mark.parametrize("n_critic", [1, 3])
def test_g_runs_once_per_critic_step_and_learns_from_the_last_critic_steps_samples(tmp_path, n_critic):
    trainer = _trainer(tmp_path, n_critic)
    g_calls, d_calls = _record_forwards(trainer.G), _record_forwards(trainer.D)
    before = [p.detach().clone() for p in trainer.G.parameters()]
    trainer.train_step()
    assert len(g_calls) == n_critic  # no second forward for G's own update
    assert len(d_calls) == 2 * n_critic + 1  # real and fake per critic step, then the G step's fake
    last_samples = g_calls[-1][1]
    assert torch.equal(d_calls[-2][0], last_samples)  # what D's last step scored as fake ...
    assert torch.equal(d_calls[-1][0], last_samples)  # ... is what G's update is scored on
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in trainer.G.parameters())


def test_a_lone_g_step_draws_its_own_samples(tmp_path):
    trainer = _trainer(tmp_path, 1)
    g_calls = _record_forwards(trainer.G)
    trainer.g_step()
    assert len(g_calls) == 1 and trainer.step == 1
