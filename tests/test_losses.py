"""Every registered loss against values worked out by hand, the direction of its gradients, and the WGAN-GP
gradient penalty on critics whose input gradient is known in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganzoo.losses import gradient_penalty
from ganzoo.plugins import get_plugins, get_registry

REAL = [1.0, -0.5]  # D's scores on two real samples
FAKE = [0.5, -2.0]  # and on two generated ones


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


# (d_loss, g_loss) at REAL / FAKE, from each paper's formula, on plain floats
HAND_COMPUTED = {
    # -[log sigmoid(r)] - [log(1 - sigmoid(f))]; G: log(1 - sigmoid(f)) = -softplus(f)
    "minimax": (mean(softplus(-r) for r in REAL) + mean(softplus(f) for f in FAKE),
                -mean(softplus(f) for f in FAKE)),
    # same D; G: -log sigmoid(f) = softplus(-f)
    "non_saturating": (mean(softplus(-r) for r in REAL) + mean(softplus(f) for f in FAKE),
                       mean(softplus(-f) for f in FAKE)),
    # E[f] - E[r] = -0.75 - 0.25; G: -E[f]
    "wasserstein": (-1.0, 0.75),
    # mean(0, 1.5) + mean(1.5, 0); G: -E[f]
    "hinge": (1.5, 0.75),
    # 0.5 * mean(0, 2.25) + 0.5 * mean(0.25, 4); G: 0.5 * mean(0.25, 9)
    "least_squares": (1.625, 2.3125),
    # pairs (r, f) = (1, 0.5) and (-0.5, -2): mean softplus(f - r) = mean(softplus(-0.5), softplus(-1.5));
    # G: mean softplus(r - f) = mean(softplus(0.5), softplus(1.5))
    "rpgan": (mean(softplus(f - r) for r, f in zip(REAL, FAKE, strict=True)),
              mean(softplus(r - f) for r, f in zip(REAL, FAKE, strict=True))),
}


def _builtin_losses() -> list[str]:
    registry, infos = get_registry(), get_plugins().infos
    return [n for n in registry.names("loss") if infos[registry.entry("loss", n).plugin].builtin]


def test_every_builtin_loss_has_a_hand_computed_case() -> None:
    assert sorted(HAND_COMPUTED) == _builtin_losses()


def test_hand_computed_table_spot_values() -> None:
    # the float formulas above, worked to 5 decimals with a calculator, so a typo in them is caught too:
    # softplus(-1) = 0.31326, softplus(0.5) = 0.97408, softplus(-2) = 0.12693, softplus(-0.5) = 0.47408,
    # softplus(2) = 2.12693
    assert HAND_COMPUTED["minimax"] == pytest.approx((1.19417, -0.55050), abs=1e-5)
    assert HAND_COMPUTED["non_saturating"] == pytest.approx((1.19417, 1.30050), abs=1e-5)
    # softplus(-0.5) = 0.47408, softplus(-1.5) = 0.20141, softplus(0.5) = 0.97408, softplus(1.5) = 1.70141
    assert HAND_COMPUTED["rpgan"] == pytest.approx((0.33774, 1.33774), abs=1e-5)


@pytest.mark.parametrize("name", sorted(HAND_COMPUTED))
def test_loss_matches_hand_computed_value(name: str) -> None:
    spec = get_registry().loss(name)
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    want_d, want_g = HAND_COMPUTED[name]
    d_loss = spec.d_loss(real, fake)
    g_loss = spec.g_loss(fake, real if spec.g_uses_real else None)
    assert d_loss.shape == () and g_loss.shape == ()
    assert d_loss.item() == pytest.approx(want_d, rel=1e-6)
    assert g_loss.item() == pytest.approx(want_g, rel=1e-6)


@pytest.mark.parametrize("name", sorted(HAND_COMPUTED))
def test_loss_gradients_point_the_right_way(name: str) -> None:
    """Where no built-in loss is saturated or past its target (scores in (0.1, 0.9)): D's loss falls as real
    scores rise and as fake scores fall; G's loss falls as fake scores rise."""
    spec = get_registry().loss(name)
    real = torch.linspace(0.1, 0.9, 5).requires_grad_()
    fake = torch.linspace(0.15, 0.85, 5).requires_grad_()
    grad_real, grad_fake = torch.autograd.grad(spec.d_loss(real, fake), (real, fake))
    assert (grad_real < 0).all(), grad_real
    assert (grad_fake > 0).all(), grad_fake
    fake_g = fake.detach().clone().requires_grad_()
    (grad_g,) = torch.autograd.grad(spec.g_loss(fake_g, real.detach() if spec.g_uses_real else None), fake_g)
    assert (grad_g < 0).all(), grad_g


def test_minimax_generator_saturates_where_non_saturating_does_not() -> None:
    """The reason for the heuristic G loss: when D confidently rejects fakes, log(1 - D(G(z))) has no gradient."""
    registry = get_registry()
    fake = torch.full((4,), -10.0, requires_grad=True)
    (mm,) = torch.autograd.grad(registry.loss("minimax").g_loss(fake, None), fake)
    (ns,) = torch.autograd.grad(registry.loss("non_saturating").g_loss(fake, None), fake)
    torch.testing.assert_close(mm, torch.full((4,), -torch.sigmoid(torch.tensor(-10.0)).item() / 4))
    torch.testing.assert_close(ns, torch.full((4,), -torch.sigmoid(torch.tensor(10.0)).item() / 4))
    assert ns.abs().min() > 1000 * mm.abs().max()


def test_hinge_ignores_scores_beyond_the_margin() -> None:
    real = torch.tensor([1.5, 3.0], requires_grad=True)
    fake = torch.tensor([-1.5, -4.0], requires_grad=True)
    loss = get_registry().loss("hinge").d_loss(real, fake)
    assert loss.item() == 0.0
    assert all(g.abs().sum() == 0 for g in torch.autograd.grad(loss, (real, fake)))


@pytest.mark.parametrize("name", get_registry().names("loss"))
def test_every_registered_loss_is_a_differentiable_scalar(name: str) -> None:
    """Holds for third-party losses too: batch scores in, a finite scalar with finite gradients out."""
    spec = get_registry().loss(name)
    real, fake = torch.randn(6, requires_grad=True), torch.randn(6, requires_grad=True)
    for value in (spec.d_loss(real, fake), spec.g_loss(fake, real if spec.g_uses_real else None)):
        assert value.shape == () and torch.isfinite(value)
        grads = torch.autograd.grad(value, (real, fake), allow_unused=True)
        assert any(g is not None for g in grads)
        assert all(torch.isfinite(g).all() for g in grads if g is not None)


# --- gradient penalty ----------------------------------------------------------------------------------------------

class LinearCritic(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, so the penalty is (||w|| - 1)^2 exactly."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) * self.weight.flatten()).sum(1)


def _images(seed: int, n: int = 5) -> torch.Tensor:
    return torch.randn(n, 1, 3, 3, generator=torch.Generator().manual_seed(seed))


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic() -> None:
    w = torch.randn(9)
    critic = LinearCritic(w / w.norm())
    gp = gradient_penalty(critic, _images(0), _images(1))
    torch.testing.assert_close(gp, torch.tensor(0.0), atol=1e-10, rtol=0)


@pytest.mark.parametrize("norm", [0.0, 0.5, 3.0])
def test_gradient_penalty_of_a_linear_critic(norm: float) -> None:
    w = torch.randn(9)
    critic = LinearCritic(w / w.norm() * norm)
    gp = gradient_penalty(critic, _images(0), _images(1))
    assert gp.item() == pytest.approx((norm - 1.0) ** 2, rel=1e-5, abs=1e-7)


def test_gradient_penalty_trains_the_critic() -> None:
    """The penalty is differentiable in D's weights: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||."""
    w = torch.randn(9)
    w = w / w.norm() * 3.0
    critic = LinearCritic(w)
    gp = gradient_penalty(critic, _images(0), _images(1))
    (grad,) = torch.autograd.grad(gp, critic.weight)
    torch.testing.assert_close(grad, 2 * (3.0 - 1.0) * w / 3.0)


def test_gradient_penalty_uses_one_alpha_per_sample() -> None:
    """Each interpolate lies on the segment from its fake to its real sample, at a position drawn per sample."""
    seen: list[torch.Tensor] = []

    class Recording(LinearCritic):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x.detach().clone())
            return super().forward(x)

    real, fake = _images(0, n=64), _images(1, n=64)
    gradient_penalty(Recording(torch.ones(9)), real, fake, generator=torch.Generator().manual_seed(0))
    (x_hat,) = seen
    alpha = ((x_hat - fake) / (real - fake)).flatten(1)  # per element; must be one value per sample
    torch.testing.assert_close(alpha, alpha[:, :1].expand_as(alpha), rtol=1e-4, atol=1e-4)
    per_sample = alpha[:, 0]
    assert ((per_sample >= 0) & (per_sample <= 1)).all()
    assert per_sample.std() > 0.15  # spread over [0, 1] (std of U[0, 1] is 0.29), not one shared value


def test_gradient_penalty_with_a_seeded_generator_is_reproducible() -> None:
    critic = nn.Sequential(nn.Flatten(), nn.Linear(9, 4), nn.Tanh(), nn.Linear(4, 1), nn.Flatten(0))
    values = [gradient_penalty(critic, _images(0), _images(1), generator=torch.Generator().manual_seed(7))
              for _ in range(2)]
    torch.testing.assert_close(values[0], values[1], rtol=0, atol=0)
