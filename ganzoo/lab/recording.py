"""Recording a training run for the lab: the engine's own :class:`~ganzoo.engine.Trainer` takes the steps, and between
steps a :class:`Recorder` probes copies of the networks and keeps a frame.

The recorder draws its noise from private generators and works on copies of G and D in eval mode, so a recorded run
trains exactly as an unrecorded one: the same weights, bit for bit.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo.data import load_dataset, parse_dataset_name
from ganzoo.engine import RunDir, StepStats, TrainConfig, Trainer, resolve
from ganzoo.errors import ConfigError
from ganzoo.interfaces import LabProbe
from ganzoo.lab.encode import Box, LayerError, _rounded, encode
from ganzoo.registry import Registry
from ganzoo.specs import LAB_LAYER_KINDS, LabLayerSpec

SHOWN = 500  # generated samples drawn per frame (fixed noise), and real samples drawn once
SCORED = 2500  # generated samples the dataset's evaluate scores per frame: ganzoo bench's count for points
GRID = 48  # heatmap resolution per side
FRAMES = 200  # about how many frames a recording gets when no interval is given
_STREAM = 0x1AB  # the lab's noise streams are seeded from the run's seed plus this, apart from training's


def default_every(steps: int) -> int:
    """The recording interval that gives about :data:`FRAMES` frames over ``steps``."""
    return max(1, math.ceil(steps / FRAMES))


@dataclass
class Frame:
    """What the lab shows at one step: each layer's encoding, the losses and the dataset's scores."""

    step: int
    values: dict[str, float | None]  # d_loss, g_loss (means since the previous frame) and the dataset's scores
    layers: dict[str, dict[str, Any]]
    note: str = ""  # what led to this frame in a live session: "D step", "G step"
    settings: dict[str, Any] | None = None  # the training settings, when they changed at this frame

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "values": self.values, "layers": self.layers}
        if self.note:
            out["note"] = self.note
        if self.settings is not None:
            out["settings"] = self.settings
        return out


@dataclass
class Recording:
    """A recorded run: everything a page needs to draw it (``as_json``)."""

    header: dict[str, Any]  # title, variant, dataset, config, box, grid shape, layer list, static layers
    frames: list[Frame] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {**self.header, "frames": [f.as_json() for f in self.frames]}


def lab_layers(registry: Registry) -> list[LabLayerSpec]:
    """The registered lab layers in drawing order: by kind (heatmaps at the bottom), then as registered."""
    specs = registry.specs("lab layer")
    return sorted(specs, key=lambda spec: LAB_LAYER_KINDS.index(spec.kind))


def lab_trainer(config: TrainConfig, registry: Registry) -> Trainer:
    """A :class:`Trainer` for ``config`` after checking that the lab can draw its data (2-D points)."""
    config = resolve(config, registry)
    base, _ = parse_dataset_name(config.dataset)
    if registry.dataset(base).kind != "points":
        raise ConfigError(f"ganzoo lab draws 2-D point data; {config.dataset!r} is {registry.dataset(base).kind} "
                          "data (try --dataset ring8)")
    # the lab keeps no run directory: a path nothing can be created under, so that a write would fail loudly
    trainer = Trainer(config, RunDir(Path(os.devnull)), registry)
    if trainer.data.sample_shape != (2,):
        raise ConfigError(f"ganzoo lab draws 2-D points; {config.dataset!r} has points of shape "
                          f"{trainer.data.sample_shape}")
    return trainer


def _box(points: torch.Tensor) -> Box:
    """A square around ``points`` with a margin, so circles stay round."""
    lo, hi = points.min(dim=0).values.double(), points.max(dim=0).values.double()
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.15 + 1e-6
    return (float(centre[0]) - half, float(centre[0]) + half, float(centre[1]) - half, float(centre[1]) + half)


def _grid(box: Box, side: int) -> torch.Tensor:
    """``(side * side, 2)`` cell centres of the box, row by row from the top left."""
    x0, x1, y0, y1 = box
    xs = x0 + (torch.arange(side, dtype=torch.float64) + 0.5) * (x1 - x0) / side
    ys = y1 - (torch.arange(side, dtype=torch.float64) + 0.5) * (y1 - y0) / side
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], dim=1).float()


class Recorder:
    """Probes a trainer's networks between steps and keeps the frames of a :class:`Recording`."""

    def __init__(self, trainer: Trainer, registry: Registry, layers: list[LabLayerSpec] | None = None) -> None:
        self.trainer = trainer
        cfg = trainer.config
        self.layers = lab_layers(registry) if layers is None else layers
        base, _ = parse_dataset_name(cfg.dataset)
        self.evaluate = registry.dataset(base).evaluate
        device = trainer.device
        real = load_dataset(registry, cfg.dataset, split="test", seed=cfg.seed).data[:SHOWN]
        self.box = _box(real)
        rng = torch.Generator().manual_seed((cfg.seed + _STREAM) % 2**63)
        self.z = torch.randn(SHOWN, cfg.z_dim, generator=rng).to(device)
        self.z_scored = torch.randn(SCORED, cfg.z_dim, generator=rng).to(device)
        self.real = real.to(device)
        self.grid = _grid(self.box, GRID).to(device)
        self._pending: dict[str, list[float]] = {}
        probe = self._probe()
        static = {spec.name: self._encode(spec, probe) for spec in self.layers if spec.static}
        config = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("data_dir", "fid_every",
                                                                                  "fid_extractor", "fid_samples")}
        self.recording = Recording({
            "title": f"{cfg.variant} on {cfg.dataset}, seed {cfg.seed}", "variant": cfg.variant, "dataset": cfg.dataset,
            "config": config, "box": list(self.box), "grid": [GRID, GRID],
            "layers": [{"name": s.name, "label": s.summary, "kind": s.kind, "colour": s.colour, "static": s.static,
                        "visible": s.visible} for s in self.layers],
            "static": static,
        })

    def _probe(self) -> LabProbe:
        g = copy.deepcopy(self.trainer.G).eval().requires_grad_(False)
        d = copy.deepcopy(self.trainer.D).eval().requires_grad_(False)
        with torch.no_grad():
            fake = g(self.z).float()
        return LabProbe(self.trainer.step, g, d, self.trainer.loss, self.z, fake, self.real, self.grid,
                        (GRID, GRID), self.box)

    def _encode(self, spec: LabLayerSpec, probe: LabProbe) -> dict[str, Any]:
        with torch.no_grad():
            values = spec.compute(probe)
        try:
            return encode(spec.kind, values, self.box, probe.grid_shape)
        except LayerError as exc:
            raise LayerError(f"lab layer {spec.name!r}: {exc}") from None

    def observe(self, values: StepStats | dict[str, float]) -> None:
        """Take the losses of a step (or of a single D or G step) into the next frame's averages."""
        items = values.as_dict() if isinstance(values, StepStats) else values
        for key in ("d_loss", "g_loss"):
            if key in items:
                self._pending.setdefault(key, []).append(float(items[key]))

    def capture(self, note: str = "", settings: dict[str, Any] | None = None) -> Frame:
        """A frame of the networks as they are now, appended to the recording."""
        probe = self._probe()
        values: dict[str, float | None] = {key: (_rounded(sum(v) / len(v)) if v else None)
                                           for key, v in ((k, self._pending.get(k)) for k in ("d_loss", "g_loss"))}
        self._pending = {}
        if self.evaluate is not None:
            with torch.no_grad():
                scored = probe.generator(self.z_scored).float().cpu()
            values.update({k: _rounded(float(v)) for k, v in self.evaluate(scored, self.trainer.config.seed).items()})
        layers = {spec.name: self._encode(spec, probe) for spec in self.layers if not spec.static}
        frame = Frame(self.trainer.step, values, layers, note, settings)
        self.recording.frames.append(frame)
        return frame


def record(config: TrainConfig, every: int | None = None, registry: Registry | None = None,
           on_frame: Callable[[Frame], None] | None = None) -> Recording:
    """Train ``config`` (a point dataset) and record a frame at step 0, every ``every`` steps and at the last step.

    ``every`` defaults to :func:`default_every` of the run's steps; ``on_frame`` sees each frame as it is taken.
    """
    from ganzoo.plugins import get_registry

    registry = registry or get_registry()
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise ConfigError(f"--every must be a positive integer, got {every!r}")
    trainer = lab_trainer(config, registry)
    recorder = Recorder(trainer, registry)
    last = trainer.config.steps
    every = every or default_every(last)
    frame = recorder.capture()
    if on_frame:
        on_frame(frame)
    while trainer.step < last:
        recorder.observe(trainer.train_step())
        if trainer.step % every == 0 or trainer.step == last:
            frame = recorder.capture()
            if on_frame:
                on_frame(frame)
    return recorder.recording
