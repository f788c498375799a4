"""Training state <-> one safetensors file, written atomically and verified on load.

Tensors are stored flat under prefixes (``G.``, ``D.``, ``G_ema.``, ``opt_g.``, ``opt_d.``, ``rng.``); everything
else (step, variant, versions, optimizer hyper-parameters, Python/numpy RNG bookkeeping) is string metadata. A
SHA-256 over every tensor's name, dtype, shape and bytes, and another over the other metadata entries, are stored in
the metadata and checked on load, so a truncated or corrupted file is reported instead of silently loaded. Files
are written to a temporary name, flushed, fsynced and renamed, so a crash leaves the old file or the new one, never
half of one. Nothing here unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganzoo.errors import CheckpointError, ConfigError

FORMAT = "ganzoo-checkpoint-1"


def tensors_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of the tensors' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.numel():
            digest.update(t.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then fsync and rename over ``path``: readers see the old file or the new one.

    An ``OSError`` on the temporary file is raised naming ``path``, the file the caller asked for."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file what open() would have
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename == tmp:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_writable(path: str | Path, what: str, *, folder: bool = False) -> None:
    """Raise :class:`ConfigError` when no file can be created at ``path`` (or, with ``folder``, in the folder
    ``path``): the folder it would go in, or the nearest existing one above it, refuses new files. Commands call it
    before the work whose result they would write. ``path`` is used as given (expand ``~`` first if the writer
    will); ``what`` names the option in the message (``"--out"``)."""
    where = Path(path).absolute()
    if not folder:
        where = where.parent
    while not _exists(where) and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise ConfigError(f"{what} {path}: {where} is not a folder")
    try:  # a real probe: permission bits do not tell root about read-only mounts and pseudo file systems
        fd, probe = tempfile.mkstemp(prefix=".ganzoo-write-check.", dir=where)
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot create files in {where} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # an ancestor that cannot be searched: look further up, where the probe will say why
        return False


def _umask() -> int:
    # reading the umask means setting it; do it once, and put it straight back
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


_UMASK: int | None = None


def metadata_digest(metadata: Mapping[str, str]) -> str:
    """SHA-256 of the metadata entries other than the checksums themselves, in key order."""
    body = {k: v for k, v in metadata.items() if k not in ("sha256", "meta_sha256")}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def save_tensors(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> None:
    """Write ``tensors`` and string ``metadata`` (plus format and checksums) atomically to ``path``."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = dict(metadata)
    meta["format"] = FORMAT
    meta["sha256"] = tensors_digest(tensors)
    meta["meta_sha256"] = metadata_digest(meta)
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=meta))


def read_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file, without reading its tensors."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is truncated, corrupt or not a safetensors file ({_first_line(exc)})") from exc


def load_tensors(path: Path, verify: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read and (by default) verify a file written by :func:`save_tensors`.

    Verification recomputes the checksums a ganzoo file carries; a file in ganzoo's format without them is
    refused. Files from elsewhere (no ``format`` entry) carry no checksum and are only parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    meta = read_metadata(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt ({_first_line(exc)})") from exc
    if verify:
        if meta.get("format") == FORMAT and "sha256" not in meta:
            raise CheckpointError(f"checkpoint {path} is corrupt: its checksum is missing")
        if "sha256" in meta and tensors_digest(tensors) != meta["sha256"]:
            raise CheckpointError(f"checkpoint {path} is corrupt: its checksum does not match its tensors")
        if "meta_sha256" in meta and metadata_digest(meta) != meta["meta_sha256"]:
            raise CheckpointError(f"checkpoint {path} is corrupt: its checksum does not match its metadata")
    return tensors, meta


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A verified training checkpoint: ganzoo's format, with the entries a resume needs."""
    tensors, meta = load_tensors(path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ganzoo checkpoint (format {meta.get('format')!r})")
    missing = [k for k in ("variant", "step", "config", "opt_g", "opt_d", "rng") if k not in meta]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)} in its metadata")
    if not (meta["step"].isascii() and meta["step"].isdigit()):
        raise CheckpointError(f"checkpoint {path} has an invalid step {meta['step']!r}")
    return tensors, meta


def _some(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- flattening of module / optimizer / RNG state -------------------------------------------------------------

def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``module``'s state dict with every name under ``prefix.``."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: Mapping[str, torch.Tensor], source: Path) -> None:
    """Load ``prefix.*`` tensors into ``module``, failing clearly on missing keys or wrong shapes."""
    state = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        detail = "; ".join(f"{what} {_some(names)}" for what, names in (("missing", missing),
                                                                         ("unexpected", unexpected)) if names)
        raise CheckpointError(f"{source}: {prefix} does not match this network ({detail}); "
                              "was it written for another variant or configuration?")
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise CheckpointError(
                f"{source}: {prefix}.{key} has shape {tuple(state[key].shape)}, the network expects "
                f"{tuple(value.shape)}; was it written for another image size, channel count or z_dim?")
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{source}: {prefix} cannot be loaded ({_first_line(exc)})") from exc


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], str]:
    """Optimizer state as flat tensors plus a JSON string of its param groups and non-tensor state."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, json.dumps({"param_groups": sd["param_groups"], "scalars": scalars})


def load_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor],
                   meta_json: str, source: Path | str = "checkpoint") -> None:
    """Restore what :func:`optimizer_tensors` saved, checking every state tensor against its parameter's shape."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    try:
        meta = json.loads(meta_json)
        state: dict[int, dict[str, Any]] = {}
        for name, value in tensors.items():
            if name.startswith(prefix + "."):
                idx, key = name[len(prefix) + 1:].split(".", 1)
                state.setdefault(int(idx), {})[key] = value.clone()
        for idx, values in meta["scalars"].items():
            state.setdefault(int(idx), {}).update(values)
        for idx, values in state.items():
            if not 0 <= idx < len(params):
                raise ValueError(f"state for parameter {idx}, the optimizer has {len(params)}")
            for key, value in values.items():
                if isinstance(value, torch.Tensor) and value.dim() > 0:
                    if value.shape != params[idx].shape:
                        raise ValueError(f"{key} of parameter {idx} has shape {tuple(value.shape)}, "
                                         f"the parameter {tuple(params[idx].shape)}")
                    # in the parameter's memory layout (channels-last weights), as the state was before saving:
                    # element-wise kernels take other code paths on mixed layouts, which would break bitwise resume
                    values[key] = torch.empty_like(params[idx], dtype=value.dtype).copy_(value)
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"{source}: the {prefix} optimizer state does not fit ({_first_line(exc)})") from exc


def rng_state(device: torch.device | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """Every random number generator the training loop touches: torch's CPU one and that of the CUDA ``device``
    it trains on, numpy's and Python's.

    Only the training device's CUDA generator is kept, as ``rng.cuda``: a resumed run, on whichever device and
    under data parallelism on every rank's own device, continues that one stream.
    """
    tensors = {"rng.torch": torch.get_rng_state()}
    if device is not None and device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(np_keys, dtype=np.int64))
    tensors["rng.python"] = torch.tensor(py_state, dtype=torch.int64)
    extra = {"numpy": [np_kind, int(np_pos), int(np_has_gauss), float(np_gauss)],
             "python": [py_version, py_gauss]}
    return tensors, json.dumps(extra)


def restore_rng(tensors: Mapping[str, torch.Tensor], extra_json: str, source: Path | str = "checkpoint",
                device: torch.device | None = None) -> None:
    """Put back every generator :func:`rng_state` saved; the CUDA stream goes to ``device`` when it is CUDA."""
    try:
        extra = json.loads(extra_json)
        kind, pos, has_gauss, gauss = extra["numpy"]
        version, py_gauss = extra["python"]
        numpy_state = (kind, tensors["rng.numpy"].numpy().astype(np.uint32), int(pos), int(has_gauss), float(gauss))
        python_state = (version, tuple(int(x) for x in tensors["rng.python"].tolist()), py_gauss)
        torch_state = tensors["rng.torch"]
        cuda = tensors.get("rng.cuda")
        # set the one most likely to reject a malformed state first, so a failure leaves the others untouched
        random_state = random.getstate()
        random.setstate(python_state)
        try:
            np.random.set_state(numpy_state)
            torch.set_rng_state(torch_state)
        except BaseException:
            random.setstate(random_state)
            raise
        if cuda is not None and device is not None and device.type == "cuda":
            torch.cuda.set_rng_state(cuda, device)
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
        raise CheckpointError(f"{source}: the random number generator state is invalid ({_first_line(exc)})") from exc
