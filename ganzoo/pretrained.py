"""Trained weights as a folder in the Hugging Face Hub's model-repo layout, and where such folders come from.

```
FOLDER/
  model.safetensors   G, G_ema (when the run kept one) and D, as a ganzoo checkpoint without training state:
                      the same metadata (variant, config, data_shape, z_dim, num_classes, ...) and checksums;
                      or, written with ``sampler_only`` (ganzoo's shipped weights), the sampling generator (the
                      EMA one) as G, and D: half the size, and metadata ``"generator": "ema"`` says so
  config.json         that metadata, readable: the variant, its training config and the network shapes
  README.md           the model card: scores, how it was trained, how to use it
  card.json           (ganzoo's shipped weights) the machine-readable card: command, seed, version, commit,
                      machine, steps, wall time, scores with their floor, and the sha256 of every file
  samples.png         (ganzoo's shipped weights) the card's sample grid
```

Sources ``ganzoo.load`` and the CLI accept besides run directories and checkpoint files:

- ``pretrained:VARIANT/WEIGHTS``: weights registered through ``ganzoo_register_pretrained`` (ganzoo's own or a
  plugin's);
- ``hf://OWNER/NAME[@REVISION]``: a Hub repository in this layout, read through the optional ``huggingface_hub``
  (``pip install 'ganzoo[hub]'``), which caches it and honours ``HF_HUB_OFFLINE=1``;
- a folder holding ``model.safetensors``.

Weights are data: they load with safetensors, and nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganzoo.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from ganzoo.api import LoadedRun
    from ganzoo.engine.config import TrainConfig
    from ganzoo.registry import Registry
    from ganzoo.specs import PretrainedSpec

MODEL_FILE = "model.safetensors"
PRETRAINED, HUB = "pretrained:", "hf://"
HUB_INSTALL = "pip install 'ganzoo[hub]'"


def is_remote_source(source: str | Path) -> bool:
    """Whether ``source`` names weights by scheme (``pretrained:`` or ``hf://``) rather than by path."""
    return isinstance(source, str) and source.startswith((PRETRAINED, HUB))


def model_path(source: str | Path, registry: Registry) -> Path | None:
    """The ``model.safetensors`` a source stands for: a ``pretrained:`` or ``hf://`` name, or a folder in the Hub
    layout; None for anything else (a run directory, a checkpoint file), which loads as before."""
    if isinstance(source, str) and source.startswith(PRETRAINED):
        variant, sep, weights = source[len(PRETRAINED):].partition("/")
        if not sep or not variant or not weights:
            raise ConfigError(f"{source!r} is not pretrained:VARIANT/WEIGHTS (e.g. pretrained:dcgan/mnist)")
        return folder_of(registry.pretrained(variant, weights)) / MODEL_FILE
    if isinstance(source, str) and source.startswith(HUB):
        return hub_folder(source) / MODEL_FILE
    path = Path(source)
    if path.is_file() and path.name == MODEL_FILE:
        path = path.parent
    if path.is_dir() and (path / MODEL_FILE).is_file() and not (path / "checkpoints").is_dir():
        return path / MODEL_FILE
    return None


def folder_of(spec: PretrainedSpec) -> Path:
    """The local folder of registered weights (downloading a Hub source when needed)."""
    source = spec.source
    if source.startswith(HUB):
        return hub_folder(source)
    package, sep, inside = source.partition(":")
    if sep and package and not Path(source).is_absolute():
        try:
            folder = Path(str(importlib.resources.files(package).joinpath(inside)))
        except (ModuleNotFoundError, TypeError) as exc:
            raise CheckpointError(f"pretrained {spec.name}: package {package!r} is not installed ({exc})") from None
    else:
        folder = Path(source).expanduser()
    if not (folder / MODEL_FILE).is_file():
        raise CheckpointError(f"pretrained {spec.name}: no {MODEL_FILE} in {folder}; reinstall the package that "
                              "registers it")
    return folder


def hub_folder(source: str) -> Path:
    """Download (or find in the local Hub cache) the repository ``hf://OWNER/NAME[@REVISION]``."""
    repo, _, revision = source[len(HUB):].partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ConfigError(f"{source!r} is not hf://OWNER/NAME (optionally @REVISION)")
    try:
        from huggingface_hub import errors as hub_errors
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConfigError(f"reading {source} needs huggingface_hub, which is not installed: {HUB_INSTALL}") from None
    incomplete = getattr(hub_errors, "IncompleteSnapshotError", ())  # huggingface_hub >= 1.x
    try:
        folder = snapshot_download(repo, revision=revision or None,
                                   allow_patterns=[MODEL_FILE, "config.json", "README.md", "card.json",
                                                   "samples.png"])
    except incomplete:
        raise CheckpointError(f"{source}: the local Hugging Face cache holds an incomplete copy; download it once "
                              "with the network on (HF_HUB_OFFLINE unset)") from None
    except (hub_errors.LocalEntryNotFoundError, hub_errors.RepositoryNotFoundError) as exc:
        raise CheckpointError(f"{source}: not found on the Hub nor in the local cache "
                              f"({_one_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - network, proxy, auth and storage errors come in many types
        raise CheckpointError(f"{source}: cannot download ({type(exc).__name__}: {_one_line(exc)})") from None
    if not (Path(folder) / MODEL_FILE).is_file():
        raise CheckpointError(f"{source} holds no {MODEL_FILE}: it is not a ganzoo model repository (or its "
                              "cached copy is incomplete)")
    return Path(folder)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]


def init_tensors(source: str | Path, registry: Registry) -> tuple[dict[str, torch.Tensor], dict[str, str], str]:
    """The tensors and metadata of the weights a run starts from (``--init``): trained weights, a checkpoint file,
    or a run directory (its newest checkpoint). Returns them with a readable name of the source."""
    from ganzoo.engine import checkpoint as ckpt
    from ganzoo.engine.rundir import find_run

    path = model_path(source, registry)
    if path is None:
        path = Path(source)
        if path.is_dir():
            checkpoints = find_run(path).list_checkpoints()
            if not checkpoints:
                raise CheckpointError(f"--init {source}: the run has no checkpoint yet")
            path = checkpoints[-1][1]
    tensors, meta = ckpt.load_tensors(path)
    missing = [key for key in ("variant", "data_shape", "z_dim") if key not in meta]
    if missing:
        raise CheckpointError(f"--init {source} is not ganzoo weights (no {', '.join(missing)} recorded)")
    return tensors, meta, str(source)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_tensors(run: LoadedRun, dtype: torch.dtype = torch.float16,
                  sampler_only: bool = False) -> dict[str, torch.Tensor]:
    """The tensors of a model file: G, the EMA G when kept, and D, prefixed ``G.`` / ``G_ema.`` / ``D.``, floats as
    ``dtype``. With ``sampler_only``, G is the sampling generator (:attr:`LoadedRun.sampler`) and no G_ema."""
    nets = {"G": run.sampler if sampler_only else run.generator, "D": run.discriminator}
    if run.ema_generator is not None and not sampler_only:
        nets["G_ema"] = run.ema_generator
    return {f"{prefix}.{key}": (value.to(dtype) if value.is_floating_point() else value)
            for prefix, net in nets.items() for key, value in net.state_dict().items()}


def write_model(run: LoadedRun, out: Path, dtype: torch.dtype = torch.float16, card: dict[str, Any] | None = None,
                readme: str | None = None, samples: Path | None = None, sampler_only: bool = False) -> Path:
    """Write ``run`` (G, the EMA G when kept, D) as a model folder at ``out`` (created, or an empty folder).

    Tensors are stored as ``dtype`` (float16 halves the size; integer buffers keep their type). With
    ``sampler_only`` the folder holds the sampling generator as G and D, without the raw G: what is sampled and
    scored, and what fine-tuning starts from, at about half the size. ``card`` is
    written to card.json with the sha256 of every other file added; ``readme`` is the model card
    (default: :func:`model_card`). The folder appears complete or not at all.
    """
    from ganzoo.engine import checkpoint as ckpt

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty folder; choose a new output folder")
    if not out.parent.is_dir():
        raise ConfigError(f"output directory {out.parent} does not exist")
    ckpt.check_writable(out, "output")
    tensors = model_tensors(run, dtype, sampler_only)
    overflow = [key for key, value in tensors.items() if value.is_floating_point() and not value.isfinite().all()]
    if overflow:
        raise ConfigError(f"{overflow[0]} does not fit in {str(dtype).replace('torch.', '')} (values beyond its "
                          "range, or not finite); store the weights as float32")
    meta = model_metadata(run)
    if sampler_only and run.ema_generator is not None:
        meta["generator"] = "ema"
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        ckpt.save_tensors(staging / MODEL_FILE, tensors, meta)
        record = {k: json.loads(v) if k in _JSON_META else v for k, v in meta.items()}
        (staging / "config.json").write_text(json.dumps({"library": "ganzoo", "dtype": str(dtype).replace(
            "torch.", ""), **record}, indent=2, sort_keys=True) + "\n")
        if samples is not None:
            shutil.copyfile(samples, staging / "samples.png")
        (staging / "README.md").write_text(readme if readme is not None else model_card(run, card, sampler_only))
        if card is not None:
            files = {p.name: sha256(p) for p in sorted(staging.iterdir())}
            (staging / "card.json").write_text(json.dumps({**card, "sha256": files}, indent=2) + "\n")
        _publishable(staging)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _publishable(folder: Path) -> None:
    """Give a staged folder the permissions a normal ``mkdir`` / ``open`` would (mkdtemp and mkstemp make them
    owner-only), so shipped or shared weights are readable by others where the umask allows."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.iterdir():
        path.chmod(0o666 & ~umask)


_JSON_META = ("config", "data_shape", "class_names", "step", "z_dim", "num_classes")


def model_metadata(run: LoadedRun) -> dict[str, str]:
    """The checkpoint metadata a model file carries (what ``ganzoo.load`` reads), without training state."""
    from ganzoo import __version__

    g = run.generator
    return {"variant": run.spec.name, "ganzoo_version": __version__, "torch_version": torch.__version__,
            "step": str(run.step), "config": public_config(run.config).to_json(),
            "data_shape": json.dumps(list(g.data_shape)),
            "z_dim": str(g.z_dim), "num_classes": str(run.num_classes),
            "class_names": json.dumps(list(run.class_names))}


def public_config(config: TrainConfig) -> TrainConfig:
    """``config`` without the local paths a published folder should not carry: the data directory, the
    ``--init`` source, and a ``folder:`` dataset's parent directories (its own name stays)."""
    dataset = config.dataset
    if dataset and dataset.startswith("folder:"):
        dataset = "folder:" + Path(dataset[len("folder:"):]).name
    return dataclasses.replace(config, dataset=dataset, data_dir=None, init=None)


def model_card(run: LoadedRun, card: dict[str, Any] | None = None, sampler_only: bool = False) -> str:
    """A Hugging Face model card (README.md with YAML front matter) for ``run``, with ``card``'s scores."""
    cfg = public_config(run.config)
    dataset = cfg.dataset.split(":", 1)[0]
    lines = ["---", "library_name: ganzoo", "tags:", "- gan", "- image-generation", f"- {run.spec.name}",
             f"datasets:\n- {dataset}" if ":" not in cfg.dataset else "", "---", "",
             f"# {run.spec.name} on {cfg.dataset}", "", run.spec.summary + ".", ""]
    if run.spec.paper:
        lines += [f"Paper: {run.spec.paper}", ""]
    if run.ema_generator is None:
        held = "the generator and the discriminator"
    elif sampler_only:
        held = ("the generator's exponential moving average (what is sampled and scored, and what fine-tuning "
                "starts from) and the discriminator")
    else:
        held = "the generator, its exponential moving average and the discriminator"
    lines += [f"Trained with ganzoo for {run.step} generator steps (batch {cfg.batch_size}, "
              f"seed {cfg.seed}); the folder holds {held}, as a safetensors file ganzoo loads directly.", ""]
    if card and card.get("scores"):
        lines += ["## Scores", "", f"N = {card.get('num_samples', '?')} generated samples against the "
                  f"{card.get('reference', 'test split')}; the floor is real training images against the same "
                  "reference at the same N.", "", "| extractor | metric | this model | floor |", "|---|---|---|---|"]
        for extractor, block in card["scores"].items():
            for key, value in block.items():
                if key == "floor":
                    continue
                floor = block.get("floor", {}).get(key)
                lines.append(f"| {extractor} | {key} | {_fmt(value)} | {_fmt(floor)} |")
        lines.append("")
    if card and card.get("command"):
        lines += ["## How it was trained", "", "```bash", card["command"], "```", ""]
        machine = card.get("machine") or {}
        if machine:
            lines.append(f"- machine: {machine.get('processor', '?')}, {machine.get('cpu_count', '?')} CPUs, "
                         f"{machine.get('torch_threads', '?')} torch threads, device {machine.get('device', '?')}, "
                         f"torch {machine.get('torch', '?')}")
        if isinstance(card.get("train_seconds"), (int, float)):
            lines.append(f"- training: {card['train_seconds']:.1f} s")
        for key in ("ganzoo_version", "commit", "date"):
            if card.get(key) is not None:
                lines.append(f"- {key.replace('_', ' ')}: {card[key]}")
        lines.append("")
    lines += ["## Use", "", "```python", "import ganzoo", "", f'run = ganzoo.load("{card.get("load", "FOLDER")}")'
              if card else 'run = ganzoo.load("FOLDER")', "images = ganzoo.sample(run, 16)  # (16, C, H, W) in [-1, 1]",
              "```", ""]
    return "\n".join(line for line in lines if line is not None)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def verify(folder: Path) -> dict[str, str]:
    """Check every file listed in ``folder/card.json`` against its sha256; returns the card's hashes."""
    card_path = Path(folder) / "card.json"
    try:
        card = json.loads(card_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{card_path}: unreadable card ({exc})") from None
    for name, want in card.get("sha256", {}).items():
        path = Path(folder) / name
        if not path.is_file() or sha256(path) != want:
            raise CheckpointError(f"{path} does not match the sha256 its card records")
    return card["sha256"]


def card_grid(run: LoadedRun, card: dict[str, Any] | None = None) -> bytes:
    """The PNG bytes of a model card's sample grid: 64 samples of the sampling generator with noise seed
    ``card["grid_seed"]`` (default 0); a conditional run draws 8 of each of its first 10 classes, a row each.
    Deterministic for given weights, so a test can compare a card's samples.png with them bit for bit."""
    from ganzoo.api import sample
    from ganzoo.plots import save_class_grid, save_grid

    seed = int((card or {}).get("grid_seed", 0))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grid.png"
        if run.num_classes:
            labels = torch.arange(min(run.num_classes, 10)).repeat_interleave(8)
            save_class_grid(sample(run, len(labels), seed, labels=labels), labels, run.class_names, path)
        else:
            save_grid(sample(run, 64, seed), path)
        return path.read_bytes()
