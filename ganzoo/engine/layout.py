"""Memory layout of the networks: channels-last for convolutional networks on CPU.

oneDNN's CPU convolutions run on (N, H, W, C) data; in the default (N, C, H, W) layout every convolution converts
its input and output. Keeping weights and activations channels-last made a DCGAN training step 1.30x (64 px) to
1.64x (32 px) faster on the 2-core Xeon (``benchmarks/throughput.py``, docs/benchmarks.md). On CUDA the gain depends
on the GPU and the precision and has not been measured here, so the layout is left alone there.
"""

from __future__ import annotations

import torch


def prefer_channels_last(device: torch.device, generator: torch.nn.Module, discriminator: torch.nn.Module,
                         data_shape: tuple[int, ...], z_dim: int, *copies: torch.nn.Module) -> bool:
    """Put the networks on ``device`` channels-last where that pays: on CPU, when one of them has a 2-D convolution
    and both still run in that layout. ``copies`` (an EMA generator) follow the generator. Returns whether it did.

    A forward that ``.view``\\ s a channels-last activation raises; a third-party network that does so is left as
    it was rather than failing at its first step. The check runs two samples through both networks in eval mode
    with the random number generators restored afterwards, so it changes no weight, statistic or random stream.
    """
    nets = (generator, discriminator)
    if device.type != "cpu" or not any(_is_conv2d(m) for net in nets for m in net.modules()):
        return False
    modes = [net.training for net in nets]
    for net in nets:
        net.to(memory_format=torch.channels_last)
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for net in nets:
                net.eval()
            discriminator(generator(torch.zeros(2, z_dim, device=device)))
            discriminator(torch.zeros(2, *data_shape, device=device).contiguous(memory_format=torch.channels_last))
    except Exception:  # noqa: BLE001 - any failure means: not in this layout; the first step shows the error
        for net in nets:
            net.to(memory_format=torch.contiguous_format)
        return False
    finally:
        for net, mode in zip(nets, modes, strict=True):
            net.train(mode)
    for net in copies:
        net.to(memory_format=torch.channels_last)
    return True


def _is_conv2d(module: torch.nn.Module) -> bool:
    return isinstance(module, torch.nn.modules.conv._ConvNd) and len(module.kernel_size) == 2
