"""Every registered variant keeps the contract (timm style: a plugin is tested the moment it registers), and the
contract checks really catch the mistakes they are meant to catch."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.testing import CHECKS, ContractCase, check_variant, contract_cases, contract_tests

CASES = contract_cases()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # many tiny networks: thread start-up costs more than it saves, and other tests may run beside these
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_registered_variant_keeps_contract(case: ContractCase, check: str) -> None:
    CHECKS[check](case.variant, **case.kwargs())


IMAGE_CASES = [c for c in CASES if c.data_kind == "image" and c.channels == 1]


@pytest.mark.parametrize("case", IMAGE_CASES, ids=[c.variant for c in IMAGE_CASES])
def test_variant_trains_through_the_api_on_an_image_folder(case: ContractCase, tmp_path) -> None:
    """``ganzoo.train`` end to end on a tiny PNG folder (labelled blobs for a conditional variant): config, metrics,
    checkpoints, samples, then load."""
    from helpers import labelled_blobs_plugin, make_image_folder, registry_with

    from ganzoo.plugins import get_registry

    if get_registry().variant(case.variant).conditional:
        registry, dataset = registry_with(labelled_blobs_plugin()), "blobs"
    else:
        folder = make_image_folder(tmp_path / "images", n=12, size=case.image_size)
        registry, dataset = get_registry(), f"folder:{folder}"
    run = ganzoo.train(case.variant, tmp_path / "run", steps=3, batch_size=8, image_size=case.image_size,
                       dataset=dataset, checkpoint_every=2, sample_every=2, device="cpu", registry=registry)
    assert [r["step"] for r in run.read_metrics() if "d_loss" in r] == [1, 2, 3]
    assert [step for step, _ in run.list_checkpoints()] == [2, 3]
    assert sorted(p.name for p in run.samples.glob("*.png")) == ["step_000002.png", "step_000003.png"]
    loaded = ganzoo.load(run.root, registry=registry)
    assert loaded.step == 3 and loaded.spec.name == case.variant
    x = ganzoo.sample(loaded, 5, seed=1)
    assert x.shape == (5, 1, case.image_size, case.image_size)
    torch.testing.assert_close(x, ganzoo.sample(loaded, 5, seed=1), rtol=0, atol=0)


def test_cases_cover_every_variant_kind_and_channel_count() -> None:
    from ganzoo.plugins import get_registry

    registry_variants = ganzoo.list_variants()
    assert sorted({c.variant for c in CASES}) == registry_variants
    for name in registry_variants:
        spec = get_registry().variant(name)
        image_cases = [c for c in CASES if c.variant == name and c.data_kind == "image"]
        if "image" in spec.data_kinds:
            assert {c.channels for c in image_cases} == set(spec.channels)
            assert {c.image_size for c in image_cases} == {min(spec.image_sizes)}
        assert any(c.data_kind == "points" for c in CASES if c.variant == name) == ("points" in spec.data_kinds)


def test_case_ids_are_readable() -> None:
    assert ContractCase("dcgan", "image", 28, 3).id == "dcgan-28px-3ch"
    assert ContractCase("gan", "points").id == "gan-points"


def test_contract_cases_rejects_unknown_name_with_suggestion() -> None:
    with pytest.raises(ganzoo.UnknownNameError, match="did you mean 'dcgan'"):
        contract_cases("dcgna")
    assert contract_cases("no-such-*") == []


# --- the checks catch broken variants --------------------------------------------------------------------------

class TinyG(ganzoo.Generator):
    def __init__(self, z_dim: int = 8, data_shape: tuple[int, ...] = (2,)) -> None:
        super().__init__(z_dim, data_shape)
        self.net = nn.Linear(z_dim, 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class TinyD(ganzoo.Discriminator):
    def __init__(self, data_shape: tuple[int, ...] = (2,)) -> None:
        super().__init__(data_shape)
        self.net = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class ColumnD(TinyD):
    """Returns (B, 1) instead of (B,)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SqueezeAllD(TinyD):
    """``.squeeze()`` turns a batch of one into a 0-d tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze()


class UnusedParamD(TinyD):
    def __init__(self, data_shape: tuple[int, ...] = (2,)) -> None:
        super().__init__(data_shape)
        self.spare = nn.Linear(2, 1)


class HiddenStateG(TinyG):
    """Keeps a learned-looking offset outside state_dict(), so a checkpoint cannot restore it."""

    def __init__(self, z_dim: int = 8, data_shape: tuple[int, ...] = (2,)) -> None:
        super().__init__(z_dim, data_shape)
        self.offset = torch.randn(2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z) + self.offset


class UnseededG(TinyG):
    """Initialises from a generator the engine's seed does not control."""

    def __init__(self, z_dim: int = 8, data_shape: tuple[int, ...] = (2,)) -> None:
        super().__init__(z_dim, data_shape)
        with torch.no_grad():
            entropy = int.from_bytes(os.urandom(4), "little")
            self.net.weight.copy_(torch.randn(self.net.weight.shape,
                                              generator=torch.Generator().manual_seed(entropy)))


class UnboundedImageG(ganzoo.Generator):
    def __init__(self, z_dim: int = 8, data_shape: tuple[int, ...] = (1, 8, 8)) -> None:
        super().__init__(z_dim, data_shape)
        self.net = nn.Linear(z_dim, 64)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 10 * self.net(z).view(-1, *self.data_shape)


class FlatImageD(ganzoo.Discriminator):
    def __init__(self, data_shape: tuple[int, ...] = (1, 8, 8)) -> None:
        super().__init__(data_shape)
        self.net = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)


def _spec(generator=TinyG, discriminator=TinyD, loss: str = "non_saturating", **kw) -> ganzoo.VariantSpec:
    kw.setdefault("data_kinds", ("points",))
    kw.setdefault("defaults", ganzoo.TrainDefaults(z_dim=8, dataset="ring8"))
    return ganzoo.VariantSpec(name="broken", summary="a deliberately broken variant", generator=generator,
                              discriminator=discriminator, loss=loss, **kw)


def test_a_correct_unregistered_spec_passes() -> None:
    check_variant(_spec())
    check_variant(_spec(loss="wasserstein", gradient_penalty=10.0))
    check_variant(_spec(loss="wasserstein", weight_clip=0.01))


@pytest.mark.parametrize(("spec", "check", "message"), [
    (_spec(discriminator=ColumnD), "shapes", r"D scores .* shape \(4, 1\), expected \(4,\)"),
    (_spec(discriminator=SqueezeAllD), "shapes", r"shape \(\), expected \(1,\) \(eval mode, batch 1\)"),
    (_spec(generator=UnboundedImageG, discriminator=FlatImageD, data_kinds=("image",), image_sizes=(8,),
           channels=(1,), defaults=ganzoo.TrainDefaults(z_dim=8, image_size=8)),
     "shapes", r"outside \[-1, 1\]"),
    (_spec(discriminator=UnusedParamD), "gradients", r"no gradient reaches D parameters \['spare.weight'"),
    (_spec(generator=HiddenStateG), "checkpoint", r"G outputs differ after a save/load round trip"),
    (_spec(generator=UnseededG), "determinism", r"two runs with seed 0 differ"),
    (_spec(loss="no-such-loss"), "shapes", r"names loss 'no-such-loss', which is not registered"),
    (_spec(defaults=ganzoo.TrainDefaults(z_dim=8, image_size=64), data_kinds=("image", "points"),
           image_sizes=(32,)), "spec", r"default image size 64 is not in image_sizes"),
], ids=["column-scores", "squeeze-batch-of-one", "unbounded-images", "unused-parameter", "state-outside-dict",
        "unseeded-init", "unknown-loss", "default-size-unsupported"])
def test_checks_catch_broken_variants(spec: ganzoo.VariantSpec, check: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message) as info:
        CHECKS[check](spec)
    assert "variant 'broken'" in str(info.value)


def test_constraints_are_checked_after_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from ganzoo.engine import loop

    spec = _spec(loss="wasserstein", weight_clip=1e-3)
    real_step = loop.Trainer.train_step

    def step_then_unclip(self):
        stats = real_step(self)
        with torch.no_grad():
            for p in self.D.parameters():
                p.fill_(1.0)
        return stats

    monkeypatch.setattr(loop.Trainer, "train_step", step_then_unclip)
    with pytest.raises(AssertionError, match="does not satisfy the constraint .weight_clip."):
        CHECKS["train_step"](spec)


def test_checks_leave_the_callers_random_state_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    CHECKS["determinism"](_spec())
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


def test_contract_tests_helper_parametrises_cases_and_checks() -> None:
    test = contract_tests("gan", checks=["shapes", "spec"])
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    ids = [p.id for p in mark.args[1]]
    assert ids == [f"{c.id}-{check}" for c in contract_cases("gan") for check in ("shapes", "spec")]
    with pytest.raises(ValueError, match="unknown contract checks"):
        contract_tests("gan", checks=["shape"])


# --- docs/variants.md is generated from the registry ----------------------------------------------------------------

def test_variants_doc_table_is_in_step_with_the_registry() -> None:
    from pathlib import Path

    from ganzoo.testing.variants_table import builtin_variants, replace_table, variants_table

    doc = (Path(__file__).resolve().parent.parent / "docs" / "variants.md").read_text()
    expected = replace_table(doc, variants_table(names=builtin_variants()))
    assert doc == expected, "docs/variants.md is out of date: python -m ganzoo.testing.variants_table docs/variants.md"


def test_variants_table_parses_back_to_the_registry_fields() -> None:
    from ganzoo.plugins import get_registry
    from ganzoo.testing.variants_table import END, START, parse_variants_table, variants_table

    registry = get_registry()
    rows = parse_variants_table(f"{START}\n{variants_table(registry)}{END}")
    assert [r["Variant"] for r in rows] == [f"`{n}`" for n in registry.names("variant")]
    for row in rows:
        spec = registry.variant(row["Variant"].strip("`"))
        assert row["Loss"] == f"`{spec.loss}`"
        assert int(row["n_critic"]) == spec.defaults.n_critic
        assert row["Paper"].endswith(f"({spec.paper})") or (row["Paper"] == "-" and not spec.paper)
        assert row["Data"].split(", ") == list(spec.data_kinds)
        assert row["Conditional"] == ("class labels" if spec.conditional else "-")
        if "image" in spec.data_kinds:
            assert [int(s) for s in row["Image sizes"].split(", ")] == list(spec.image_sizes)
            assert [int(c) for c in row["Channels"].split(", ")] == list(spec.channels)
    wgan_gp = next(r for r in rows if r["Variant"] == "`wgan-gp`")
    assert wgan_gp["Optimizer"] == "Adam 0.0001, betas (0.0, 0.9)"
    assert wgan_gp["Regularisation"] == "`gradient_penalty` 10"
