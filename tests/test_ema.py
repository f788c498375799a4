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


def test_the_warm_up_caps_the_decay_until_it_passes_it() -> None:
    """d_t = min(d, (1+t)/(10+t)): before step (10d-1)/(1-d) the decay setting has no effect (docs/variants.md)."""
    def one_update(decay: float, step: int) -> list[torch.Tensor]:
        g = _generator()
        ema = EMA(g, decay=decay)
        before = [p.detach().clone() for p in ema.module.parameters()]
        with torch.no_grad():
            for p in g.parameters():
                p.add_(1.0)
        ema.update(g, step=step)
        return [new - old for old, new in zip(before, ema.module.parameters(), strict=True)]

    warm_up = (1 + 8000) / (10 + 8000)
    for a, b in zip(one_update(0.999, 8000), one_update(0.9995, 8000), strict=True):
        assert torch.equal(a, b)  # both capped at the warm-up's 0.99888
        torch.testing.assert_close(a, torch.full_like(a, 1 - warm_up))
    for a, b in zip(one_update(0.999, 20000), one_update(0.9995, 20000), strict=True):
        torch.testing.assert_close(a, torch.full_like(a, 1 - 0.999))  # past step 8990: the setting rules
        torch.testing.assert_close(b, torch.full_like(b, 1 - 0.9995))


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
