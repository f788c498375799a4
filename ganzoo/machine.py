"""What a measurement ran on: platform, CPU model, thread count, library versions and device, recorded beside every
benchmark's figures so that two of them can be told apart (or recognised as the same kind of machine)."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

from ganzoo import __version__


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name ("AMD EPYC 9R14", "Intel(R) Xeon(R) ..."), from /proc/cpuinfo where there is one;
    else what :mod:`platform` knows (often only the architecture, "x86_64")."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(device: torch.device | str = "cpu") -> dict[str, Any]:
    """Platform, CPU model, core and torch thread counts, Python, torch and ganzoo versions, the device (and the
    GPU's name on CUDA)."""
    device = torch.device(device)
    info: dict[str, Any] = {
        "platform": platform.platform(), "processor": cpu_name(), "python": platform.python_version(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
        "ganzoo": __version__, "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
