"""The plugin's own tests: ganzoo's contract in one line, plus what is specific to this plugin."""

from __future__ import annotations

import math

import pytest
import torch
from ganzoo_example.drift import drift_penalty
from ganzoo_example.loss import relativistic_d, relativistic_g

import ganzoo
from ganzoo.testing import contract_tests

# one test per supported shape (16px is the smallest; 1 and 3 channels) and contract check, for both variants
test_example_contract = contract_tests("example-*")


def test_plugin_is_discovered(ganzoo_registry):
    assert ganzoo_registry.entry("variant", "example-rsgan").plugin == "example"
    assert ganzoo_registry.entry("loss", "relativistic").plugin == "example"
    assert ganzoo_registry.entry("regulariser", "drift").plugin == "example"


def test_relativistic_loss_values():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    # pairs differ by +1 and -1: D loss = mean(log(1 + e^-1), log(1 + e^1))
    want = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(1.0))) / 2
    assert relativistic_d(real, fake).item() == pytest.approx(want)
    assert relativistic_g(fake, real).item() == pytest.approx(want)  # symmetric at this point
    with pytest.raises(ValueError):
        relativistic_g(fake, None)


def test_drift_penalty_is_the_mean_squared_real_score():
    critic = torch.nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[1.0, 2.0]]))
        critic.bias.zero_()
    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # scores 1 and 2
    inputs = ganzoo.PenaltyInputs(lambda x: critic(x).squeeze(1), real, real, lambda: torch.rand(2))
    assert drift_penalty(inputs).item() == pytest.approx((1.0 + 4.0) / 2)
