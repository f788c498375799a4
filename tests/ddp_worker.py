"""One rank of a data-parallel test run (started by torchrun from tests/test_distributed.py, not collected by pytest).

    torchrun --standalone --nproc_per_node 2 tests/ddp_worker.py OUT VARIANT DATASET STEPS BATCH [IMAGE_SIZE]
    torchrun --standalone --nproc_per_node 2 tests/ddp_worker.py --train RUN_DIR REPORT_DIR

Trains ``STEPS`` generator steps through ganzoo's Trainer, then writes this rank's G and D tensors (parameters and
buffers) to ``OUT/rank{R}.safetensors`` so the test can compare ranks with each other and with one process.
With ``--train`` it calls ``ganzoo.engine.train`` (gan on ring8, 2 steps) into RUN_DIR instead and writes what
happened on this rank, "ok" or the error, to ``REPORT_DIR/rank{R}.txt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from ganzoo.engine import RunDir, TrainConfig, Trainer
from ganzoo.engine.device import select_device
from ganzoo.engine.distributed import join, leave, world_from_env
from ganzoo.plugins import get_registry


def main(out: str, variant: str, dataset: str, steps: str, batch: str, image_size: str | None = None) -> None:
    torch.set_num_threads(1)
    world = world_from_env()
    joined = join(world, select_device("cpu"))
    finished = False
    try:
        config = TrainConfig(variant=variant, dataset=dataset, steps=int(steps), batch_size=int(batch), seed=3,
                             device="cpu", image_size=int(image_size) if image_size else None)
        trainer = Trainer(config, RunDir(Path(out) / "unused"), get_registry(), world)
        while trainer.step < int(steps):
            trainer.train_step()
        tensors = {f"{name}.{key}": value.detach().clone().contiguous()
                   for name, net in (("G", trainer.G), ("D", trainer.D)) for key, value in net.state_dict().items()}
        save_file(tensors, str(Path(out) / f"rank{world.rank}.safetensors"),
                  metadata={"notes": " | ".join(trainer.notes), "local_batch": str(trainer.local_batch)})
        finished = True
    finally:
        leave(joined, finished=finished)  # as the engine leaves: every rank waits for the others first


def train_run(run_dir: str, report_dir: str) -> None:
    from ganzoo.engine import train

    torch.set_num_threads(1)
    world = world_from_env()
    try:
        train(TrainConfig(variant="gan", dataset="ring8", steps=2, batch_size=16, device="cpu"), Path(run_dir))
        outcome = "ok"
    except Exception as exc:  # noqa: BLE001 - the test reads what each rank saw
        outcome = f"{type(exc).__name__}: {exc}"
    (Path(report_dir) / f"rank{world.rank}.txt").write_text(outcome)


if __name__ == "__main__":
    from ganzoo.engine.distributed import exit_without_finalising

    # as `ganzoo train` under torchrun: a rank must not finalise the interpreter while a gloo thread still holds a
    # collective's tensors ("terminate called without an active exception", seen under load on 2 cores, in CI too)
    with exit_without_finalising():
        if sys.argv[1] == "--train":
            train_run(sys.argv[2], sys.argv[3])
        else:
            main(*sys.argv[1:])
