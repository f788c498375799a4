"""The FID Inception rearranged for inference: the same function as ``FIDInceptionV3``, computed faster.

Exact rewrites (equal up to float rounding):

- batch norm folded into each convolution's weights and bias;
- the input map ``x / 127.5 - 1`` and, for grayscale, the repeat to three channels folded into the first
  convolution (it has no padding, so a per-pixel affine map of its input is an affine map of its output);
- in each mixed block, the 1x1 convolutions that read the block input merged into one matrix product;
- the 1x1 convolution after an average pool moved before it (``pool(Wx + b) = W pool(x) + b``: the pool is a
  convex combination of pixels), so the pool runs on 32-192 channels instead of 192-1280;
- 1x1 convolutions computed as matrix products over the pixels of channels-last tensors.

On CPU the convolutions and matrix products run through oneDNN with weights reordered once into its blocked
layout and the ReLU fused into the kernel, the kernels ``torch.compile``'s CPU backend emits after freezing, here
called directly so there is nothing to compile. They are private PyTorch operators, so they are used only after
a self-test against ``conv2d`` / ``linear`` passes (:func:`onednn_kernels_work`); otherwise, and on other devices,
the plain operators run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.metrics.inception_net import (
    FEATURE_DIM,
    NUM_CLASSES,
    BlockA,
    BlockB,
    BlockC,
    BlockD,
    BlockE,
    ConvBN,
    FIDInceptionV3,
    avg_pool_valid,
)

_PACKED_CACHE_LIMIT = 4  # packed conv weights depend on the input shape: full batches plus a few remainders


@functools.cache
def onednn_kernels_work() -> bool:
    """Whether PyTorch's prepacked oneDNN convolution / linear operators exist and agree with the plain ones."""
    try:
        ops = torch.ops.mkldnn
        with torch.no_grad():
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(2, 8, 7, 7, generator=gen).contiguous(memory_format=torch.channels_last)
            w, b = torch.randn(5, 8, 3, 3, generator=gen), torch.randn(5, generator=gen)
            packed = ops._reorder_convolution_weight(w, [1, 1], [1, 1], [1, 1], 1, list(x.shape))
            y = ops._convolution_pointwise(x, packed, b, [1, 1], [1, 1], [1, 1], 1, "relu", [], "")
            conv_ok = torch.allclose(y, F.relu(F.conv2d(x, w, b, padding=1)), atol=1e-4, rtol=1e-4)
            x2, w2 = torch.randn(6, 8, generator=gen), torch.randn(5, 8, generator=gen)
            y2 = ops._linear_pointwise(x2, ops._reorder_linear_weight(w2, 6), b, "relu", [], "")
            linear_ok = torch.allclose(y2, F.relu(F.linear(x2, w2, b)), atol=1e-4, rtol=1e-4)
        return bool(conv_ok and linear_ok)
    except (AttributeError, RuntimeError, TypeError, NotImplementedError):
        return False


def fold_bn(layer: ConvBN) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of the one convolution equal to ``layer``'s conv followed by its batch norm (eval mode)."""
    bn = layer.bn
    scale = bn.weight.detach() / torch.sqrt(bn.running_var.detach() + bn.eps)
    weight = layer.conv.weight.detach() * scale[:, None, None, None]
    bias = bn.bias.detach() - bn.running_mean.detach() * scale
    return weight, bias


class FoldedConv(nn.Module):
    """A biased convolution, optionally followed by a ReLU; 1x1 ones run as a matrix product over the pixels."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, like: nn.Conv2d, relu: bool) -> None:
        super().__init__()
        self.stride, self.padding, self.relu = list(like.stride), list(like.padding), relu
        self.pointwise = tuple(weight.shape[2:]) == (1, 1) and self.stride == [1, 1] and self.padding == [0, 0]
        self.weight = nn.Parameter(weight.flatten(1).clone() if self.pointwise else weight.clone(),
                                   requires_grad=False)
        self.bias = nn.Parameter(bias.clone(), requires_grad=False)
        self.use_onednn = True  # FastFIDInception switches this off on request
        self._packed: dict[tuple, torch.Tensor] = {}

    @classmethod
    def of(cls, layer: ConvBN, relu: bool = True) -> FoldedConv:
        return cls(*fold_bn(layer), layer.conv, relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        onednn = (self.use_onednn and x.device.type == "cpu" and x.dtype == torch.float32
                  and self.weight.device.type == "cpu" and onednn_kernels_work())
        if not self.pointwise:
            if onednn:
                ops = torch.ops.mkldnn
                w = self._pack(tuple(x.shape), lambda: ops._reorder_convolution_weight(
                    self.weight, self.padding, self.stride, [1, 1], 1, list(x.shape)))
                attr = "relu" if self.relu else "none"
                return ops._convolution_pointwise(x, w, self.bias, self.padding, self.stride, [1, 1], 1, attr, [], "")
            y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
            return F.relu_(y) if self.relu else y
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(n * h * w, c)  # a view when x is channels-last
        if onednn:
            ops = torch.ops.mkldnn
            packed = self._pack(("linear",), lambda: ops._reorder_linear_weight(self.weight, n * h * w))
            y = ops._linear_pointwise(rows, packed, self.bias, "relu" if self.relu else "none", [], "")
        else:
            y = F.linear(rows, self.weight, self.bias)
            y = F.relu_(y) if self.relu else y
        return y.view(n, h, w, self.weight.shape[0]).permute(0, 3, 1, 2)  # channels-last (N, C_out, H, W)

    def _pack(self, key: tuple, pack: Callable[[], torch.Tensor]) -> torch.Tensor:
        # keyed by the weight's identity and version too, so a moved or reloaded weight is packed afresh
        key = (*key, self.weight.data_ptr(), self.weight._version)
        if key not in self._packed:
            if len(self._packed) >= _PACKED_CACHE_LIMIT:
                self._packed.clear()
            with torch.no_grad():
                self._packed[key] = pack()
        return self._packed[key]


class MergedHead(nn.Module):
    """The 1x1 convolutions (each with its ReLU) that read a block's input, as one product split by channel."""

    def __init__(self, layers: list[ConvBN]) -> None:
        super().__init__()
        folded = [fold_bn(layer) for layer in layers]
        weight, bias = torch.cat([w for w, _ in folded]), torch.cat([b for _, b in folded])
        self.conv = FoldedConv(weight, bias, layers[0].conv, relu=True)
        self.sizes = [w.shape[0] for w, _ in folded]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(self.conv(x), self.sizes, dim=1))


class AvgPoolBranch(nn.Module):
    """avg pool -> 1x1 conv -> ReLU, computed as 1x1 conv -> avg pool -> ReLU (see the module docstring)."""

    def __init__(self, layer: ConvBN) -> None:
        super().__init__()
        self.conv = FoldedConv.of(layer, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu_(avg_pool_valid(self.conv(x)))


def _chain(x: torch.Tensor, layers: nn.ModuleList) -> torch.Tensor:
    for layer in layers:
        x = layer(x)
    return x


def _convs(block: nn.Module, *names: str) -> nn.ModuleList:
    return nn.ModuleList([FoldedConv.of(getattr(block, name)) for name in names])


class FastA(nn.Module):
    def __init__(self, b: BlockA) -> None:
        super().__init__()
        self.head = MergedHead([b.branch1x1, b.branch5x5_1, b.branch3x3dbl_1])
        self.b5 = _convs(b, "branch5x5_2")
        self.b3 = _convs(b, "branch3x3dbl_2", "branch3x3dbl_3")
        self.pool = AvgPoolBranch(b.branch_pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1, b5, b3 = self.head(x)
        return torch.cat([b1, _chain(b5, self.b5), _chain(b3, self.b3), self.pool(x)], 1)


class FastB(nn.Module):
    def __init__(self, b: BlockB) -> None:
        super().__init__()
        self.b3 = _convs(b, "branch3x3")
        self.bd = _convs(b, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([_chain(x, self.b3), _chain(x, self.bd), F.max_pool2d(x, 3, stride=2)], 1)


class FastC(nn.Module):
    def __init__(self, b: BlockC) -> None:
        super().__init__()
        self.head = MergedHead([b.branch1x1, b.branch7x7_1, b.branch7x7dbl_1])
        self.b7 = _convs(b, "branch7x7_2", "branch7x7_3")
        self.bd = _convs(b, *(f"branch7x7dbl_{i}" for i in range(2, 6)))
        self.pool = AvgPoolBranch(b.branch_pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1, b7, bd = self.head(x)
        return torch.cat([b1, _chain(b7, self.b7), _chain(bd, self.bd), self.pool(x)], 1)


class FastD(nn.Module):
    def __init__(self, b: BlockD) -> None:
        super().__init__()
        self.head = MergedHead([b.branch3x3_1, b.branch7x7x3_1])
        self.b3 = _convs(b, "branch3x3_2")
        self.b7 = _convs(b, "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3, b7 = self.head(x)
        return torch.cat([_chain(b3, self.b3), _chain(b7, self.b7), F.max_pool2d(x, 3, stride=2)], 1)


class FastE(nn.Module):
    def __init__(self, b: BlockE) -> None:
        super().__init__()
        self.head = MergedHead([b.branch1x1, b.branch3x3_1, b.branch3x3dbl_1])
        self.b3a, self.b3b = FoldedConv.of(b.branch3x3_2a), FoldedConv.of(b.branch3x3_2b)
        self.bd = FoldedConv.of(b.branch3x3dbl_2)
        self.bda, self.bdb = FoldedConv.of(b.branch3x3dbl_3a), FoldedConv.of(b.branch3x3dbl_3b)
        # max does not commute with the convolution: the last block pools its input first
        self.max_pool = b.max_pool
        self.pool = FoldedConv.of(b.branch_pool) if b.max_pool else AvgPoolBranch(b.branch_pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1, a, d = self.head(x)
        d = self.bd(d)
        pooled = self.pool(F.max_pool2d(x, 3, stride=1, padding=1)) if self.max_pool else self.pool(x)
        return torch.cat([b1, self.b3a(a), self.b3b(a), self.bda(d), self.bdb(d), pooled], 1)


_FAST_BLOCKS: dict[type, type] = {BlockA: FastA, BlockB: FastB, BlockC: FastC, BlockD: FastD, BlockE: FastE}


class FastFIDInception(nn.Module):
    """:class:`FIDInceptionV3` for inference; takes the resized image in [0, 255] with 1 or 3 channels.

    ``onednn=False`` runs the plain ``conv2d`` / ``linear`` operators everywhere.
    """

    def __init__(self, net: FIDInceptionV3, onednn: bool = True) -> None:
        super().__init__()
        first = net.Conv2d_1a_3x3
        weight, bias = fold_bn(first)
        bias = bias - weight.sum((1, 2, 3))  # the "- 1" of x / 127.5 - 1
        weight = weight / 127.5
        self.stem_rgb = FoldedConv(weight, bias, first.conv, relu=True)
        self.stem_gray = FoldedConv(weight.sum(1, keepdim=True), bias, first.conv, relu=True)
        self.stem = _convs(net, "Conv2d_2a_3x3", "Conv2d_2b_3x3")
        self.stem2 = _convs(net, "Conv2d_3b_1x1", "Conv2d_4a_3x3")
        self.blocks = nn.ModuleList([_FAST_BLOCKS[type(b)](b) for b in net.blocks()])
        self.fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        self.fc.load_state_dict(net.fc.state_dict())
        for module in self.modules():
            if isinstance(module, FoldedConv):
                module.use_onednn = onednn

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: float (N, 1 or 3, 299, 299) in [0, 255] -> (features (N, 2048), logits (N, 1008))."""
        x = (self.stem_gray if x.shape[1] == 1 else self.stem_rgb)(x)  # (N, 32, 149, 149)
        x = F.max_pool2d(_chain(x, self.stem), 3, stride=2)  # (N, 64, 73, 73)
        x = F.max_pool2d(_chain(x, self.stem2), 3, stride=2)  # (N, 192, 35, 35)
        x = _chain(x, self.blocks)  # (N, 2048, 8, 8)
        features = x.mean((2, 3))
        return features, self.fc(features)
