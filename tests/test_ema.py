"""The EMA generator: averaged weights, and batch-norm statistics re-estimated for them before use."""

from __future__ import annotations

import torch

import ganzoo
from ganzoo.engine.ema import EMA


def _generator() -> ganzoo.Generator:
    torch.manual_seed(0)
    g, _ = ganzoo.create("dcgan")
    return g


def test_weights_follow_the_exponential_average() -> None:
    g = _generator()
    ema = EMA(g, decay=0.5)
    before = [p.detach().clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    ema.update(g, step=100)  # warm-up over: decay 0.5
    for old, new, live in zip(before, ema.module.parameters(), g.parameters(), strict=True):
        torch.testing.assert_close(new, 0.5 * old + 0.5 * live.detach())


def test_recalibration_gives_the_statistics_of_the_averaged_weights_and_draws_no_global_randomness() -> None:
    g = _generator()
    ema = EMA(g, decay=0.9)
    with torch.no_grad():
        for p in g.parameters():
            p.mul_(1.5)
        g.train()(torch.randn(64, g.z_dim))  # G's running statistics now describe G's weights, not the EMA's
    ema.update(g, step=100)
    copied = ema.module.net[1].running_var.clone()
    state = torch.get_rng_state()
    ema.recalibrate()
    assert torch.equal(torch.get_rng_state(), state)
    recalibrated = ema.module.net[1].running_var.clone()
    assert not torch.allclose(copied, recalibrated)
    # the same as measuring the averaged network's activations on many samples in training mode
    probe = ganzoo.create("dcgan")[0]
    probe.load_state_dict(ema.module.state_dict())
    with torch.no_grad():
        h = probe.net[0](torch.randn(4096, g.z_dim).view(-1, g.z_dim, 1, 1))
    torch.testing.assert_close(recalibrated, h.var(dim=(0, 2, 3)), rtol=0.1, atol=1e-3)
    ema.recalibrate()  # a second call without an update is free and changes nothing
    assert torch.equal(ema.module.net[1].running_var, recalibrated)
    assert not ema.module.training
