"""The contract every registered variant must keep, as plain functions that raise ``AssertionError``.

Each ``check_*`` function takes a variant (its registered name, or a :class:`~ganzoo.VariantSpec` not registered
yet) and the sample shape to test at, builds the networks on the CPU, and fails with a message naming the variant,
the shape and what broke. :func:`check_variant` runs them all; :func:`contract_cases` lists the shapes a variant
claims to support (every data kind and channel count, at its smallest image size) so a test suite can parametrise
over the whole registry. Nothing here needs pytest.

Training checks run the real engine (:class:`ganzoo.engine.loop.Trainer`) on a tiny synthetic in-memory dataset of
the right kind and shape, through a private registry, and leave the caller's random number generators as they were.
A conditional variant is checked with :data:`NUM_CLASSES` classes: its networks get int64 labels, the synthetic data
carries them, and one more check (``labels``) verifies that both networks use them.
"""

from __future__ import annotations

import contextlib
import math
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganzoo.data.base import ArrayData, DataRequest
from ganzoo.engine.config import TrainConfig
from ganzoo.engine.loop import Trainer
from ganzoo.engine.rundir import RunDir
from ganzoo.errors import ConfigError, UnknownNameError
from ganzoo.interfaces import Discriminator, Generator, PenaltyInputs, discriminate, generate
from ganzoo.models import build
from ganzoo.registry import Registry
from ganzoo.specs import DatasetSpec, LossSpec, RegulariserSpec, VariantSpec

__all__ = [
    "CHECKS", "NUM_CLASSES", "POINT_DIM", "ContractCase", "check_checkpoint_roundtrip", "check_determinism",
    "check_gradients", "check_labels", "check_shapes", "check_spec", "check_train_step", "check_variant",
    "contract_cases",
]

POINT_DIM = 2  # point-data variants are checked on 2-D points, the shape of the toy datasets
NUM_CLASSES = 3  # conditional variants are checked with this many classes
BATCH = 4  # >1 so batch norm has statistics; small so every check stays well under a second
DATASET = "contract-data"  # the synthetic dataset's name in the private registry
_DATASET_SIZE = 24


@dataclass(frozen=True)
class ContractCase:
    """One shape to check a variant at: ``data_kind`` "image" with a size and channel count, or "points"."""

    variant: str
    data_kind: str = "image"
    image_size: int | None = None
    channels: int | None = None

    @property
    def id(self) -> str:
        """A readable test id: ``dcgan-28px-1ch`` or ``gan-points``."""
        if self.data_kind == "points":
            return f"{self.variant}-points"
        return f"{self.variant}-{self.image_size}px-{self.channels}ch"

    def kwargs(self) -> dict[str, object]:
        """Keyword arguments for the ``check_*`` functions."""
        return {"image_size": self.image_size, "channels": self.channels, "data_kind": self.data_kind}


def contract_cases(variant: str | VariantSpec = "*", registry: Registry | None = None) -> list[ContractCase]:
    """The cases to check: for every variant matching ``variant`` (a name, a glob such as ``"wgan*"``, or a spec),
    each supported channel count at the smallest supported image size, plus one case for point data."""
    if isinstance(variant, VariantSpec):
        specs = [variant]
    else:
        registry = registry or _global_registry()
        names = registry.names("variant", variant)
        if not names and not any(c in variant for c in "*?["):
            registry.variant(variant)  # raises UnknownNameError with a suggestion
        specs = [registry.variant(n) for n in names]
    cases = []
    for spec in specs:
        if "image" in spec.data_kinds:
            size = min(spec.image_sizes)
            cases += [ContractCase(spec.name, "image", size, c) for c in spec.channels]
        if "points" in spec.data_kinds:
            cases.append(ContractCase(spec.name, "points"))
    return cases


# --- resolving what to check -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    spec: VariantSpec
    loss: LossSpec
    regularisers: tuple[tuple[RegulariserSpec, float], ...]
    data_kind: str
    data_shape: tuple[int, ...]
    registry: Registry

    @property
    def num_classes(self) -> int:
        return NUM_CLASSES if self.spec.conditional else 0

    def labels(self, n: int = BATCH, seed: int = 4) -> torch.Tensor | None:
        """Class labels for a batch of a conditional variant (every class present), else None."""
        if not self.num_classes:
            return None
        shuffled = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        return shuffled % self.num_classes

    @property
    def label(self) -> str:
        return f"variant {self.spec.name!r} at {'x'.join(map(str, self.data_shape))} ({self.data_kind})"

    def fail(self, check: str, message: str) -> AssertionError:
        return AssertionError(f"{self.label}: {check}: {message}")


def _global_registry() -> Registry:
    from ganzoo.plugins import get_registry

    return get_registry()


def _target(variant: str | VariantSpec, image_size: int | None, channels: int | None, registry: Registry | None,
            data_kind: str | None) -> _Target:
    registry = registry or _global_registry()
    spec = variant if isinstance(variant, VariantSpec) else registry.variant(variant)
    kind = data_kind or ("image" if "image" in spec.data_kinds else "points")
    if kind not in spec.data_kinds:
        raise ConfigError(f"variant {spec.name!r} does not support {kind} data; it supports "
                          f"{', '.join(spec.data_kinds)}")
    if kind == "image":
        size = image_size or min(spec.image_sizes)
        chans = channels or spec.channels[0]
        if size not in spec.image_sizes or chans not in spec.channels:
            raise ConfigError(f"variant {spec.name!r} does not claim {chans} channels at {size}px; it claims sizes "
                              f"{spec.image_sizes} and channels {spec.channels}")
        shape: tuple[int, ...] = (chans, size, size)
    else:
        shape = (POINT_DIM,)
    try:
        loss = registry.loss(spec.loss)
    except UnknownNameError as exc:
        raise AssertionError(f"variant {spec.name!r} names loss {spec.loss!r}, which is not registered: {exc}") \
            from None
    regularisers = []
    for name, value in spec.regularisers.items():
        try:
            regularisers.append((registry.regulariser(name), value))
        except UnknownNameError as exc:
            raise AssertionError(f"variant {spec.name!r} names regulariser {name!r}, which is not registered: "
                                 f"{exc}") from None
    return _Target(spec, loss, tuple(regularisers), kind, shape, registry)


@contextlib.contextmanager
def _preserved_rng() -> Iterator[None]:
    """Run a block that seeds the global RNGs (the Trainer does) without changing the caller's streams."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def _build(target: _Target, seed: int = 0) -> tuple[Generator, Discriminator]:
    with _preserved_rng():
        torch.manual_seed(seed)
        options = target.spec.defaults.network if target.data_kind == "image" else {}
        return build(target.spec, target.data_shape, num_classes=target.num_classes, **options)


def _real_batch(target: _Target, n: int = BATCH, seed: int = 1) -> torch.Tensor:
    rng = torch.Generator().manual_seed(seed)
    if target.data_kind == "image":
        return torch.rand((n, *target.data_shape), generator=rng) * 2 - 1
    return torch.randn((n, *target.data_shape), generator=rng)


def _noise(g: Generator, n: int = BATCH, seed: int = 2) -> torch.Tensor:
    return torch.randn(n, g.z_dim, generator=torch.Generator().manual_seed(seed))


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all())


# --- the checks ----------------------------------------------------------------------------------------------------

def check_spec(variant: str | VariantSpec, image_size: int | None = None, channels: int | None = None,
               registry: Registry | None = None, data_kind: str | None = None) -> None:
    """The spec is usable as registered: a summary given, the paper (if given) a link, positive default steps,
    batch size, z_dim and n_critic, and ``ganzoo train NAME`` with no options would run (default image size
    supported, default dataset, when registered, of a supported kind)."""
    t = _target(variant, image_size, channels, registry, data_kind)
    spec, d = t.spec, t.spec.defaults
    if not spec.summary.strip():
        raise t.fail("spec", "summary is empty; `ganzoo list` shows it")
    if spec.paper and not spec.paper.startswith(("http://", "https://")):
        raise t.fail("spec", f"paper should be a link, got {spec.paper!r}")
    if d.n_critic < 1 or d.steps < 1 or d.batch_size < 1 or d.z_dim < 1:
        raise t.fail("spec", "defaults steps, batch_size, z_dim and n_critic must all be positive")
    dataset_name = d.dataset.split(":", 1)[0]
    if dataset_name in t.registry.names("dataset"):
        kind = t.registry.dataset(dataset_name).kind
        if kind not in spec.data_kinds:
            raise t.fail("spec", f"default dataset {d.dataset!r} holds {kind} data, which the variant does not "
                                 f"support ({', '.join(spec.data_kinds)})")
        if kind == "image" and d.image_size not in spec.image_sizes:
            raise t.fail("spec", f"default image size {d.image_size} is not in image_sizes {spec.image_sizes}")


def check_shapes(variant: str | VariantSpec, image_size: int | None = None, channels: int | None = None,
                 registry: Registry | None = None, data_kind: str | None = None) -> None:
    """G maps ``(B, z_dim)`` noise to ``(B, *data_shape)`` (in [-1, 1] for images) and D maps samples to ``(B,)``,
    in training mode and in eval mode, for a batch and for a single sample."""
    t = _target(variant, image_size, channels, registry, data_kind)
    g, d = _build(t)
    if g.data_shape != t.data_shape or d.data_shape != t.data_shape:
        raise t.fail("shapes", f"networks report data_shape G={g.data_shape}, D={d.data_shape}")
    if g.z_dim != t.spec.defaults.z_dim:
        raise t.fail("shapes", f"G.z_dim is {g.z_dim}, the spec's default z_dim is {t.spec.defaults.z_dim}")
    for mode, batch in (("train", BATCH), ("eval", BATCH), ("eval", 1)):
        g.train(mode == "train")
        d.train(mode == "train")
        with torch.no_grad():
            y = t.labels(batch)
            x = generate(g, _noise(g, batch), y)
            scores_fake, scores_real = discriminate(d, x, y), discriminate(d, _real_batch(t, batch), y)
        where = f"{mode} mode, batch {batch}"
        if tuple(x.shape) != (batch, *t.data_shape):
            raise t.fail("shapes", f"G output has shape {tuple(x.shape)}, expected {(batch, *t.data_shape)} "
                                   f"({where})")
        if not x.is_floating_point() or not _finite(x):
            raise t.fail("shapes", f"G output is not finite floating point ({where})")
        if t.data_kind == "image" and (x.min() < -1 - 1e-6 or x.max() > 1 + 1e-6):
            raise t.fail("shapes", f"G images span [{x.min():.3f}, {x.max():.3f}], outside [-1, 1] ({where}); "
                                   "end the generator with tanh")
        for name, s in (("fake", scores_fake), ("real", scores_real)):
            if tuple(s.shape) != (batch,):
                raise t.fail("shapes", f"D scores on {name} samples have shape {tuple(s.shape)}, expected "
                                       f"({batch},) ({where}); flatten to one score per sample")
            if not _finite(s):
                raise t.fail("shapes", f"D scores on {name} samples are not finite ({where})")


def _check_grads(t: _Target, net: torch.nn.Module, which: str) -> None:
    missing = [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None]
    if missing:
        raise t.fail("gradients", f"no gradient reaches {which} parameters {missing[:5]} under loss "
                                  f"{t.loss.name!r}; are they used in forward()?")
    bad = [n for n, p in net.named_parameters() if p.grad is not None and not _finite(p.grad)]
    if bad:
        raise t.fail("gradients", f"{which} gradients are not finite for {bad[:5]}")
    if not any(p.grad is not None and bool(p.grad.ne(0).any()) for p in net.parameters()):
        raise t.fail("gradients", f"every {which} gradient is exactly zero under loss {t.loss.name!r}")


def check_gradients(variant: str | VariantSpec, image_size: int | None = None, channels: int | None = None,
                    registry: Registry | None = None, data_kind: str | None = None) -> None:
    """Finite gradients reach every trainable parameter of D under the variant's D loss (plus its regularisers'
    penalties, on augmented inputs if it augments) and of G under its G loss; both losses are finite scalars."""
    t = _target(variant, image_size, channels, registry, data_kind)
    g, d = _build(t)
    g.train()
    d.train()

    def augment(x: torch.Tensor) -> torch.Tensor:
        for spec, _ in t.regularisers:
            x = spec.augment(x) if spec.augment is not None else x
        return x

    with _preserved_rng():
        torch.manual_seed(3)
        y_real, y_fake = t.labels(seed=4), t.labels(seed=5)
        real, fake = augment(_real_batch(t)), augment(generate(g, _noise(g), y_fake).detach())
        d_loss = t.loss.d_loss(discriminate(d, real, y_real), discriminate(d, fake, y_fake))
        inputs = PenaltyInputs(d, real.detach(), fake.detach(), lambda: torch.rand(real.shape[0]), y_real, y_fake)
        for spec, value in t.regularisers:
            if spec.penalty is not None:
                term = spec.penalty(inputs)
                if term.dim() != 0 or not _finite(term):
                    raise t.fail("gradients", f"regulariser {spec.name!r} gave {term!r}, not a finite scalar")
                d_loss = d_loss + value * term
        if d_loss.dim() != 0 or not _finite(d_loss):
            raise t.fail("gradients", f"D loss {t.loss.name!r} gave {d_loss!r}, not a finite scalar")
        d_loss.backward()
        _check_grads(t, d, "D")

        d.zero_grad(set_to_none=True)
        d.requires_grad_(False)
        real_scores = discriminate(d, real, y_real) if t.loss.g_uses_real else None
        fake = augment(generate(g, _noise(g), y_fake))
        g_loss = t.loss.g_loss(discriminate(d, fake, y_fake), real_scores)
        g_inputs = PenaltyInputs(d, real.detach(), fake, lambda: torch.rand(real.shape[0]), y_real, y_fake)
        for spec, value in t.regularisers:
            if spec.g_penalty is not None:
                g_loss = g_loss + value * spec.g_penalty(g_inputs)
        if g_loss.dim() != 0 or not _finite(g_loss):
            raise t.fail("gradients", f"G loss {t.loss.name!r} gave {g_loss!r}, not a finite scalar")
        g_loss.backward()
        _check_grads(t, g, "G")


def _private_registry(t: _Target) -> Registry:
    """Only the variant, its loss and a synthetic dataset of the target's kind and shape."""
    shape = t.data_shape

    def load(request: DataRequest) -> ArrayData:
        rng = torch.Generator().manual_seed(request.seed + (0 if request.split == "train" else 1))
        if t.data_kind == "image":
            data = torch.randint(0, 256, (_DATASET_SIZE, *shape), generator=rng, dtype=torch.uint8)
        else:
            data = torch.randn((_DATASET_SIZE, *shape), generator=rng)
        labels = torch.arange(_DATASET_SIZE) % t.num_classes if t.num_classes else None
        return ArrayData(data, labels, t.data_kind, t.num_classes)

    registry = Registry()
    registry.add(t.spec, "contract")
    registry.add(t.loss, "contract")
    for spec, _ in t.regularisers:
        registry.add(spec, "contract")
    registry.add(DatasetSpec(DATASET, "synthetic data for the contract checks", load, kind=t.data_kind,
                             num_classes=t.num_classes), "contract")
    return registry


def _trainer(t: _Target, root: Path, seed: int = 0) -> tuple[Trainer, Registry]:
    size, chans = (t.data_shape[1], t.data_shape[0]) if t.data_kind == "image" else (None, None)
    config = TrainConfig(variant=t.spec.name, dataset=DATASET, steps=1, batch_size=BATCH, image_size=size,
                         channels=chans, seed=seed, device="cpu", sample_every=1, checkpoint_every=1)
    registry = _private_registry(t)
    return Trainer(config, RunDir(root), registry), registry


def _state(*nets: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{i}.{k}": v.detach().clone() for i, net in enumerate(nets) for k, v in net.state_dict().items()}


def check_train_step(variant: str | VariantSpec, image_size: int | None = None, channels: int | None = None,
                     registry: Registry | None = None, data_kind: str | None = None) -> None:
    """One full training step of the engine on the CPU (``n_critic`` D steps, one G step) gives finite losses,
    changes both networks' parameters, keeps them finite, and leaves D satisfying the variant's constraints
    (applying each ``after_step`` again changes nothing: constraints are projections)."""
    t = _target(variant, image_size, channels, registry, data_kind)
    with tempfile.TemporaryDirectory(prefix="ganzoo-contract-") as tmp, _preserved_rng():
        trainer, _ = _trainer(t, Path(tmp))
        before_g, before_d = _state(trainer.G), _state(trainer.D)
        stats = trainer.train_step()
        if not (math.isfinite(stats.d_loss) and math.isfinite(stats.g_loss)):
            raise t.fail("train step", f"losses are not finite: d_loss={stats.d_loss}, g_loss={stats.g_loss}")
        for which, net, before in (("G", trainer.G, before_g), ("D", trainer.D, before_d)):
            after = dict(net.named_parameters())
            if not all(_finite(p) for p in after.values()):
                raise t.fail("train step", f"{which} has non-finite parameters after one step")
            if all(torch.equal(p.detach(), before[f"0.{n}"]) for n, p in after.items()):
                raise t.fail("train step", f"one step left every {which} parameter unchanged")
        for spec, value in t.regularisers:
            if spec.after_step is not None:
                before = _state(trainer.D)
                with torch.no_grad():
                    spec.after_step(trainer.D, value)
                if any(not torch.equal(v, before[f"0.{k}"]) for k, v in trainer.D.state_dict().items()):
                    raise t.fail("train step", f"D does not satisfy the constraint {spec.name!r} ({value}) after a "
                                               "step: applying it again changed D")


def check_checkpoint_roundtrip(variant: str | VariantSpec, image_size: int | None = None,
                               channels: int | None = None, registry: Registry | None = None,
                               data_kind: str | None = None) -> None:
    """After a training step, a safetensors checkpoint loaded with :func:`ganzoo.load` into freshly built networks
    gives bit-identical eval-mode outputs for G, D and (if kept) the EMA generator."""
    from ganzoo.api import load

    t = _target(variant, image_size, channels, registry, data_kind)
    with tempfile.TemporaryDirectory(prefix="ganzoo-contract-") as tmp, _preserved_rng():
        trainer, private = _trainer(t, Path(tmp))
        trainer.train_step()
        trainer.run_dir.config.write_text(trainer.config.to_json())
        path = trainer.save_checkpoint()
        loaded = load(path, device="cpu", registry=private)
        pairs = [("G", trainer.G, loaded.generator), ("D", trainer.D, loaded.discriminator)]
        if trainer.ema is not None:
            if loaded.ema_generator is None:
                raise t.fail("checkpoint", "the EMA generator was not restored")
            pairs.append(("G_ema", trainer.ema.module, loaded.ema_generator))
        z, x, y = _noise(trainer.G), _real_batch(t), t.labels()
        for which, original, restored in pairs:
            original.eval()
            call = discriminate if which == "D" else generate
            inputs = x if which == "D" else z
            with torch.no_grad():
                want, got = call(original, inputs, y), call(restored, inputs, y)
            if not torch.equal(want, got):
                diff = (want - got).abs().max().item()
                raise t.fail("checkpoint", f"{which} outputs differ after a save/load round trip (max abs "
                                           f"difference {diff:.3g}); is some state kept outside state_dict()?")


def check_determinism(variant: str | VariantSpec, image_size: int | None = None, channels: int | None = None,
                      registry: Registry | None = None, data_kind: str | None = None) -> None:
    """The same seed gives bit-identical G and D weights after one training step; another seed does not."""
    t = _target(variant, image_size, channels, registry, data_kind)
    states = []
    with tempfile.TemporaryDirectory(prefix="ganzoo-contract-") as tmp, _preserved_rng():
        for i, seed in enumerate((0, 0, 1)):
            trainer, _ = _trainer(t, Path(tmp) / str(i), seed=seed)
            trainer.train_step()
            states.append(_state(trainer.G, trainer.D))
    first, same, other = states
    differing = [k for k in first if not torch.equal(first[k], same[k])]
    if differing:
        raise t.fail("determinism", f"two runs with seed 0 differ after one step in {differing[:5]}; draw all "
                                    "randomness from torch's global generator (seeded by the engine)")
    if all(torch.equal(first[k], other[k]) for k in first):
        raise t.fail("determinism", "seeds 0 and 1 give identical weights; the seed has no effect")


def check_labels(variant: str | VariantSpec, image_size: int | None = None, channels: int | None = None,
                 registry: Registry | None = None, data_kind: str | None = None) -> None:
    """A conditional variant uses its labels: both networks report ``num_classes``, and for the same noise some
    gradient of G differs between classes (G's samples themselves may not differ yet at initialisation: conditional
    batch norm starts with the same scale and shift for every class). (That D uses what it is given is the
    ``gradients`` check's business: a label embedding D ignores gets no gradient; an AC-GAN-style D is given no
    label and learns classes through its regulariser.) Passes trivially for an unconditional variant."""
    t = _target(variant, image_size, channels, registry, data_kind)
    if not t.spec.conditional:
        return
    g, d = _build(t)
    if g.num_classes != NUM_CLASSES or d.num_classes != NUM_CLASSES:
        raise t.fail("labels", f"built for {NUM_CLASSES} classes, the networks report {g.num_classes} / "
                               f"{d.num_classes}")
    z = _noise(g, NUM_CLASSES).repeat(2, 1)  # the same noise twice
    y0, y1 = torch.zeros(2 * NUM_CLASSES, dtype=torch.long), torch.arange(2 * NUM_CLASSES) % NUM_CLASSES
    g.train()
    grads = []
    for y in (y0, y1):
        g.zero_grad(set_to_none=True)
        generate(g, z, y).square().mean().backward()
        grads.append({n: p.grad.clone() for n, p in g.named_parameters() if p.grad is not None})
    if all(torch.equal(grads[0][n], grads[1].get(n, grads[0][n])) for n in grads[0]):
        raise t.fail("labels", "no gradient of G depends on the label; is the label embedding used?")


CHECKS: dict[str, Callable[..., None]] = {
    "spec": check_spec,
    "shapes": check_shapes,
    "gradients": check_gradients,
    "labels": check_labels,
    "train_step": check_train_step,
    "checkpoint": check_checkpoint_roundtrip,
    "determinism": check_determinism,
}


def check_variant(variant: str | VariantSpec, image_size: int | None = None, channels: int | None = None,
                  registry: Registry | None = None, data_kind: str | None = None) -> None:
    """Run every contract check on ``variant`` at one shape (default: its smallest image size, first channel
    count); raises ``AssertionError`` naming the first check that fails."""
    for check in CHECKS.values():
        check(variant, image_size=image_size, channels=channels, registry=registry, data_kind=data_kind)
