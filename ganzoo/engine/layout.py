"""Memory layout of the networks: channels-last for convolutional networks on CPU and CUDA.

oneDNN's CPU convolutions run on (N, H, W, C) data; in the default (N, C, H, W) layout every convolution converts
its input and output. Keeping weights and activations channels-last made a training step 1.11x (WGAN-GP) to 1.28x
(DCGAN) faster on the 2-core Xeon (``benchmarks/throughput.py``, docs/benchmarks.md). On an H200 in float32 it made
DCGAN's step 1.10x to 1.30x faster at 32 and 64 px, at batch 64 and at the largest batches
(``benchmarks/gpu_check.py``, docs/benchmarks.md, "GPU figures"). Other devices keep the networks' own layout.
"""

from __future__ import annotations

import copy
import random

import numpy as np
import torch

from ganzoo.interfaces import discriminate, generate

CHANNELS_LAST_DEVICES = ("cpu", "cuda")  # where channels-last was measured to pay


def prefer_channels_last(device: torch.device, generator: torch.nn.Module, discriminator: torch.nn.Module,
                         data_shape: tuple[int, ...], z_dim: int, *copies: torch.nn.Module) -> bool:
    """Make the networks' 4-D weights and buffers channels-last where that pays: on CPU or CUDA, when one of them
    has a 2-D convolution and copies of both pass a training step in that layout. ``copies`` (an EMA generator) follow
    the generator. Returns whether it converted.

    A network that ``.view``\\ s a channels-last activation raises in that layout; such a pair is left exactly as
    it was, so it trains as before, only slower. The check runs on deep copies (in the networks' own train/eval
    modes, forward and backward, two samples) with every random number generator restored afterwards, so it
    changes nothing of the originals but the layout.
    """
    nets = (generator, discriminator)
    if device.type not in CHANNELS_LAST_DEVICES or not any(_is_conv2d(m) for net in nets for m in net.modules()):
        return False
    if not _passes_a_step(generator, discriminator, data_shape, z_dim, device):
        return False
    for net in (*nets, *copies):
        to_channels_last(net)
    return True


def _passes_a_step(generator: torch.nn.Module, discriminator: torch.nn.Module, data_shape: tuple[int, ...],
                   z_dim: int, device: torch.device) -> bool:
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            g, d = copy.deepcopy(generator), copy.deepcopy(discriminator)
            to_channels_last(g)
            to_channels_last(d)
            real = torch.zeros(2, *data_shape, device=device).contiguous(memory_format=torch.channels_last)
            labels = torch.zeros(2, dtype=torch.long, device=device) if getattr(g, "num_classes", 0) else None
            fake = generate(g, torch.zeros(2, z_dim, device=device), labels)
            (discriminate(d, fake, labels).sum() + discriminate(d, real, labels).sum()).backward()
        return True
    except Exception:  # noqa: BLE001 - any failure means: not in this layout; a real error shows at the first step
        return False
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def to_channels_last(net: torch.nn.Module) -> None:
    """Restride ``net``'s 4-D weights and buffers channels-last, in place (the same Parameter objects)."""
    # only 4-D tensors have a channels-last layout; Module.to(memory_format=...) would refuse 5-D ones. Tensor.to
    # (unlike .contiguous) also restrides single-channel weights, which picks other oneDNN kernels.
    net._apply(lambda t: t.to(memory_format=torch.channels_last) if t.dim() == 4 else t)


def _is_conv2d(module: torch.nn.Module) -> bool:
    return isinstance(module, torch.nn.modules.conv._ConvNd) and len(module.kernel_size) == 2
