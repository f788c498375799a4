"""The built-in export formats for ``ganzoo export``: ONNX (optional extra ``ganzoo[onnx]``) and TorchScript.

Both take ``z`` of shape ``(B, z_dim)`` for any batch size ``B`` (and, for a class-conditional generator, int64
``labels`` of shape ``(B,)``) and return ``(B, *data_shape)``, images in [-1, 1], exactly what the PyTorch
generator returns.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch

import ganzoo
from ganzoo.errors import ConfigError

OPSET = 18


def _example(generator: ganzoo.Generator, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Example inputs: ``(z,)``, or ``(z, labels)`` for a class-conditional generator."""
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(batch, generator.z_dim, generator=rng)
    if not generator.conditional:
        return (z,)
    return z, torch.arange(batch) % generator.num_classes


ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


def _reason(exc: Exception, limit: int = 240) -> str:
    """The cause in an exporter's error message, on one line: torch.onnx's messages run to pages of advice with
    the cause under "## Exception summary" and colour codes; tracing's first line alone often stops mid-sentence."""
    text = ANSI_CODES.sub("", str(exc))
    _, summary, cause = text.partition("## Exception summary")
    text = " ".join((cause if summary else text).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _input_names(generator: ganzoo.Generator) -> list[str]:
    return ["z", "labels"] if generator.conditional else ["z"]


def export_onnx(generator: ganzoo.Generator, path: Path, info: dict[str, str]) -> None:
    """``torch.onnx.export`` (the torch.export-based exporter) with a dynamic batch dimension; ``info`` goes into
    the model's metadata properties."""
    import onnx

    example = _example(generator)
    batch = torch.export.Dim("batch")
    try:
        with warnings.catch_warnings():
            # z and labels share the batch axis; torch says it keeps one name for the two
            warnings.filterwarnings("ignore", message=".*The axis name", category=UserWarning)
            program = torch.onnx.export(generator, example, input_names=_input_names(generator),
                                        output_names=["samples"], dynamic_shapes=tuple({0: batch} for _ in example),
                                        opset_version=OPSET, dynamo=True, external_data=False, verbose=False)
    except Exception as exc:  # noqa: BLE001 - torch.export reports unsupported code in many exception types
        raise ConfigError(f"this generator cannot be exported to ONNX: {_reason(exc)}") from exc
    model = program.model_proto
    for key, value in info.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path))


def export_torchscript(generator: ganzoo.Generator, path: Path, info: dict[str, str]) -> None:
    """``torch.jit.trace``, checked at a second batch size so a shape baked into the trace is caught here;
    ``info`` is stored as the archive's extra file ``ganzoo.json``."""
    import json

    example = _example(generator)
    with warnings.catch_warnings():
        # torch marks TorchScript deprecated in favour of torch.export; it is still what C++ and mobile runtimes load
        warnings.simplefilter("ignore", FutureWarning)
        try:
            traced = torch.jit.trace(generator, example, check_inputs=[_example(generator, 5)])
        except Exception as exc:  # noqa: BLE001 - tracing fails in many exception types
            raise ConfigError(f"this generator cannot be traced to TorchScript: {_reason(exc)}") from exc
        torch.jit.save(traced, str(path), _extra_files={"ganzoo.json": json.dumps(info, sort_keys=True)})


@ganzoo.hookimpl
def ganzoo_register_exporters(register):
    register(ganzoo.ExporterSpec("onnx", "ONNX model (dynamic batch), runs in onnxruntime", export_onnx, ".onnx",
                                 requires=("onnx", "onnxscript"), install="pip install 'ganzoo[onnx]'"))
    register(ganzoo.ExporterSpec("torchscript", "TorchScript archive (torch.jit.load; dynamic batch)",
                                 export_torchscript, ".pt"))
