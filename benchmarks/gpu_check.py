"""One prepared accelerator check: ganzoo's GPU path measured in a single run of at most 9 minutes.

    timeout 580 python benchmarks/gpu_check.py --device cuda --out benchmarks/results/gpu   # on a GPU machine
    python benchmarks/gpu_check.py --device cpu --quick                                   # seconds; CI runs it

Sections, in this order, each independent (a failure is recorded in one line and the next section runs) and each
with its own time limit inside a total budget (``--budget``):

- ``variants``: every registered image variant (so a new plugin is included) trains a few hundred steps with
  ``ganzoo.train``: losses finite, img/s, FID while training (the dataset's own extractor) at step 0 and at the end.
- ``amp``: dcgan in fp32 with several seeds (the seed spread), then ``--amp bf16`` and ``--amp fp16`` with the first
  seed: losses finite, final FID, and whether it lies within the fp32 spread (mean +- 2 sample sd).
- ``inception``: img/s of Inception feature extraction at several batch sizes, timed from uint8 images in host
  memory (as ``ganzoo bench`` feeds them); on CUDA also how far its features are from the CPU's.
- ``nccl``: ``ganzoo train --nproc 2`` on CUDA; with one GPU, why that is not possible, and whether NCCL itself
  takes two ranks on one device (a two-process all_reduce). Every process has a timeout.
- ``bench``: ``ganzoo bench dcgan`` at its defaults; the whole timing split and the scores from its metrics.json.
- ``step_profile``: where one dcgan training step's time goes at its default batch: the spread of the step times
  of a ``ganzoo.train`` run (median, mean, tail), then ``torch.profiler`` over a few of the engine's steps: host
  operators, GPU kernel time, kernel launches and synchronisations per step, and the costliest operators.
- ``throughput``: the engine's img/s (``benchmarks/throughput.py``'s ``EngineLoop`` and ``measure``) at 32 and 64
  px, at batch 64 and at the largest batch that fits (doubling until out of memory, up to a cap), eager and
  ``--compile``, channels-last on and off. It comes last and uses what is left of the budget: the eager rows first,
  then the compiled ones; rows that no longer fit are listed as skipped.

The JSON and the Markdown (OUT/gpu_check.json, OUT/gpu_check.md) are rewritten after every section, so a run cut
short still leaves what it measured. A section stuck inside one CUDA call cannot be interrupted from Python: the
outer ``timeout`` ends the run then. ``--quick`` shrinks every count to a smoke test and trains on in-memory random
images instead of MNIST (a tiny image folder for the bench); what makes no sense on CPU is skipped with the reason.
The figures of a quick run mean nothing; its point is that every code path of the check still runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gc
import json
import math
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import throughput as tp
import torch

import ganzoo
from ganzoo.engine import Events, RunDir
from ganzoo.engine.device import select_device
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry

SECTIONS = ("variants", "amp", "inception", "nccl", "bench", "step_profile", "throughput")
MIN_SECTION_S = 5.0  # a section is not started with less time than this left in the budget
UNFINISHED = "unfinished: the section's time limit came first"  # a row's error until the row completes


@dataclass(frozen=True)
class Plan:
    """How much each section does and how long it may take. The defaults are the GPU run; :data:`QUICK` is the
    smoke test."""

    budget_s: float = 480  # all sections together; with start-up the run ends within 9 minutes
    timeouts_s: dict[str, float] = field(default_factory=lambda: {  # per section, clipped to the budget left
        "variants": 90, "amp": 110, "inception": 45, "nccl": 60, "bench": 180, "step_profile": 40,
        "throughput": 300})
    dataset: str | None = None  # None: each variant's default (MNIST)
    fid_extractor: str | None = None  # None: the dataset's own tracking extractor (mnist-classifier on MNIST)
    fid_samples: int | None = None  # None: the engine's default (2048)
    train_options: dict[str, Any] = field(default_factory=dict)  # more ganzoo.train options for every run
    variant_fid: bool = True  # FID while training at the first and last step of each variant's run
    variant_steps: int = 300  # generator steps per variant
    amp_steps: int = 1000  # generator steps per precision and seed
    amp_fid_points: int = 10  # FID evaluations per amp run
    seeds: tuple[int, ...] = (0, 1, 2)  # fp32 seeds: the spread the AMP runs are compared with
    inception_inputs: tuple[tuple[int, int], ...] = ((299, 3), (32, 1))  # (size, channels) of the timed images
    inception_images: int = 1024  # images per timed pass
    inception_batches: tuple[int, ...] = (16, 64, 256)  # images per forward pass (16: ganzoo bench's default)
    inception_repeats: int = 3
    nproc_steps: int = 20  # steps of the --nproc 2 run
    bench_args: tuple[str, ...] = ()  # more `ganzoo bench dcgan` options (none: its defaults)
    profile_run_steps: int = 600  # steps of the ganzoo.train run whose step times are summarised
    profile_steps: int = 20  # engine steps under torch.profiler
    sizes: tuple[int, ...] = (32, 64)  # throughput image sizes
    batch: int = 64  # the fixed throughput batch, and where the search for the largest starts
    max_batch: int = 65536  # the doubling search stops here if memory never runs out
    search_step_s: float = 3.0  # ... or once one training step took longer than this
    compile: bool = True  # compiled throughput rows
    warmup: int = 3  # untimed steps per throughput row after its first step (which compiles under --compile)
    round_s: float = 1.0  # target length of a timed round: steps per round = round_s / (one step's time) ...
    max_steps: int = 200  # ... at most this many
    repeats: int = 3  # timed rounds per row
    compile_reserve_s: float = 45  # a compiled row starts only with this much of the section's time left
    quick: bool = False


FULL = Plan()
QUICK = Plan(  # seconds on a CPU: every code path, none of the figures meaningful
    budget_s=300, timeouts_s={"variants": 90, "amp": 90, "inception": 60, "nccl": 10, "bench": 120, "step_profile": 60,
                              "throughput": 60},
    dataset=tp.RANDOM_DATASET, fid_extractor="mnist-classifier", fid_samples=160,
    train_options={"batch_size": 8, "ema_decay": 0.0}, variant_fid=False, variant_steps=1, amp_steps=1,
    amp_fid_points=1, seeds=(0, 1), inception_inputs=((32, 1),), inception_images=4, inception_batches=(4,),
    inception_repeats=1, nproc_steps=2,
    bench_args=("--steps", "2", "--batch-size", "16", "--num-samples", "20", "--extractor", "mnist-classifier"),
    profile_run_steps=4, profile_steps=2,
    sizes=(32,), batch=4, max_batch=8, search_step_s=30.0, compile=False, warmup=0, round_s=0.0, max_steps=1,
    repeats=1, compile_reserve_s=0, quick=True)


class Skip(Exception):  # noqa: N818 - a section that does not apply here says why
    """The section does not apply here; the message says why."""


class SectionTimeout(BaseException):
    """A section ran past its time limit. A BaseException, so no ``except Exception`` in the code under test
    swallows it."""


class Terminated(BaseException):
    """SIGTERM (the outer ``timeout``) arrived: record what there is and stop."""


@dataclass
class Check:
    """What every section needs: the plan, the device, a registry, a scratch folder and the clock."""

    plan: Plan
    device: torch.device
    registry: Registry
    work: Path
    started: float
    env: dict[str, str]  # environment of child processes
    section_ends: float = math.inf
    terminated: bool = False  # SIGTERM arrived: no further section starts

    def remaining(self) -> float:
        """Seconds left in the whole budget."""
        return self.plan.budget_s - (time.monotonic() - self.started)

    def section_left(self) -> float:
        """Seconds left before the running section's time limit."""
        return self.section_ends - time.monotonic()

    def log(self, section: str, message: str) -> None:
        print(f"[{time.monotonic() - self.started:5.0f}s] {section}: {message}", file=sys.stderr, flush=True)


# --- helpers -----------------------------------------------------------------------------------------------------

def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (at most 300 characters)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` says the device (or host) ran out of memory."""
    text = str(exc).lower()
    return isinstance(exc, torch.OutOfMemoryError) or any(
        s in text for s in ("out of memory", "alloc_failed", "can't allocate memory"))


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mib(device: torch.device) -> float | None:
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`SectionTimeout` in this (the main) thread after ``seconds``."""
    def expire(signum: int, frame: object) -> None:
        raise SectionTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Finished:
    """A child process's end: exit status (None when it was killed at its timeout), seconds and output."""

    returncode: int | None
    seconds: float
    output: str

    @property
    def last_line(self) -> str:
        return next((line for line in reversed(self.output.replace("\r", "\n").splitlines()) if line.strip()), "")


def run_processes(commands: list[tuple[list[str], dict[str, str]]], timeout: float, logs: Path) -> list[Finished]:
    """Run the commands together, each in its own process group with stdout and stderr to a log file; after
    ``timeout`` seconds, or on any exception here (a section timeout, SIGTERM), every group still running is
    terminated, then killed: ganzoo's --nproc launcher and its ranks go with it."""
    logs.mkdir(parents=True, exist_ok=True)
    procs, files = [], []
    start = time.monotonic()
    try:
        for i, (cmd, env) in enumerate(commands):
            files.append(open(logs / f"process{i}.log", "w+b"))  # noqa: SIM115 - closed in finally
            procs.append(subprocess.Popen(cmd, env=env, stdout=files[-1], stderr=subprocess.STDOUT,
                                          start_new_session=True))
        while any(p.poll() is None for p in procs) and time.monotonic() - start < timeout:
            time.sleep(0.1)
    finally:
        _stop(procs)
        seconds = time.monotonic() - start
        outputs = []
        for f in files:
            f.seek(0)
            outputs.append(f.read().decode(errors="replace"))
            f.close()
    return [Finished(None if p.returncode in (-signal.SIGTERM, -signal.SIGKILL) and seconds >= timeout
                     else p.returncode, round(seconds, 1), out) for p, out in zip(procs, outputs, strict=True)]


def _stop(procs: list[subprocess.Popen]) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        running = [p for p in procs if p.poll() is None]
        for p in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, sig)
        end = time.monotonic() + wait
        while any(p.poll() is None for p in running) and time.monotonic() < end:
            time.sleep(0.05)


def check_registry(num_images: int) -> Registry:
    """Every installed plugin, plus throughput.py's in-memory random images (``num_images`` of them); each
    dataset request is loaded once and shared by every run of the check (the engine never writes to its data)."""
    base = tp.bench_registry(get_registry(), num_images)
    registry = Registry()
    for kind in base.kinds():
        for name in base.names(kind):
            entry = base.entry(kind, name)
            spec = entry.spec
            if kind == "dataset":
                spec = dataclasses.replace(spec, load=functools.lru_cache(maxsize=4)(spec.load))
            registry.add(spec, entry.plugin)
    return registry


def train(check: Check, variant: str, label: str, steps: int, events: Events | None = None,
          **options: Any) -> RunDir:
    """``ganzoo.train`` into a fresh run directory under the scratch folder, with the plan's dataset, FID
    extractor and other options; one checkpoint and one sample grid, at the end."""
    out = check.work / "runs" / label
    shutil.rmtree(out, ignore_errors=True)
    plan = check.plan
    return ganzoo.train(variant, out, registry=check.registry, events=events, dataset=plan.dataset,
                        device=str(check.device), steps=steps, fid_extractor=plan.fid_extractor,
                        fid_samples=plan.fid_samples, sample_every=steps, checkpoint_every=steps,
                        **{**plan.train_options, **options})


def run_summary(run: RunDir) -> dict[str, Any]:
    """Losses, their finiteness, img/s and FID while training, from a run's metrics.jsonl."""
    from ganzoo.plots import fid_records

    records = run.read_metrics()
    steps = [r for r in records if "d_loss" in r]
    fids = fid_records(records)
    losses = [r[k] for r in steps for k in ("d_loss", "g_loss")]
    summary: dict[str, Any] = {
        "steps": len(steps), "losses_finite": all(math.isfinite(v) for v in losses),
        "d_loss": steps[-1]["d_loss"] if steps else None, "g_loss": steps[-1]["g_loss"] if steps else None,
        "img_per_s": round(statistics.median(r["images_per_s"] for r in steps), 1) if steps else None,
        "train_s": round(steps[-1]["train_s"], 2) if steps else None,
    }
    if fids:
        summary.update(fid_start=fids[0]["fid"], fid_end=fids[-1]["fid"], fid_extractor=fids[0]["extractor"],
                       fid_n=fids[0]["fid_n"], fid_curve=[(r["step"], round(r["fid"], 3)) for r in fids])
    return summary


def _warnings_into(row: dict[str, Any]) -> Events:
    return Events(on_warning=lambda message: row.setdefault("warnings", []).append(message))


# --- sections ----------------------------------------------------------------------------------------------------

def check_variants(check: Check, out: dict[str, Any]) -> None:
    """Every registered image variant, ``plan.variant_steps`` steps each."""
    registry, steps = check.registry, check.plan.variant_steps
    names = [n for n in registry.names("variant") if "image" in registry.variant(n).data_kinds]
    out.update(steps=steps, dataset=check.plan.dataset or "each variant's default", rows=[],
               options=check.plan.train_options)
    if not check.plan.variant_fid:
        out["fid_skipped"] = "FID while training is off here (--quick); the amp section tracks it"
    for name in names:
        row: dict[str, Any] = {"variant": name, "error": UNFINISHED}
        out["rows"].append(row)
        started = time.monotonic()
        try:
            run = train(check, name, f"variant-{name}", steps, events=_warnings_into(row),
                        fid_every=steps if check.plan.variant_fid else 0)
            row.update(run_summary(run))
            row.pop("fid_curve", None)
            del row["error"]
        except Exception as exc:  # one variant failing must not lose the others
            row["error"] = one_line(exc)
        row["wall_s"] = round(time.monotonic() - started, 1)
        check.log("variants", f"{name}: " + (row["error"] if "error" in row else
                  f"{row['img_per_s']} img/s, losses finite {row['losses_finite']}, "
                  f"FID {_num(row.get('fid_start'))} -> {_num(row.get('fid_end'))}"))
        free_memory(check.device)
    ok = [r for r in out["rows"] if "error" not in r and r["losses_finite"]]
    out["summary"] = f"{len(ok)} of {len(names)} variants trained {steps} steps with finite losses"


def check_amp(check: Check, out: dict[str, Any]) -> None:
    """dcgan in fp32 over the plan's seeds, then bf16 and fp16 with the first seed, FID tracked."""
    plan = check.plan
    if check.device.type == "cuda" and not torch.cuda.is_bf16_supported():
        out["bf16_note"] = "this GPU does not support bf16"
    fid_every = max(1, plan.amp_steps // plan.amp_fid_points)
    out.update(variant="dcgan", steps=plan.amp_steps, fid_every=fid_every, rows=[], options=plan.train_options)
    runs = [("fp32", "off", seed) for seed in plan.seeds] + [(p, p, plan.seeds[0]) for p in ("bf16", "fp16")]
    for precision, amp, seed in runs:
        row: dict[str, Any] = {"precision": precision, "seed": seed}
        out["rows"].append(row)
        if precision == "bf16" and "bf16_note" in out:
            row["skipped"] = out["bf16_note"]
            continue
        row["error"] = UNFINISHED
        started = time.monotonic()
        try:
            run = train(check, "dcgan", f"amp-{precision}-s{seed}", plan.amp_steps, events=_warnings_into(row),
                        amp=amp, seed=seed, fid_every=fid_every)
            row.update(run_summary(run))
            if amp == "fp16":
                row["grad_scale"] = _grad_scales(run)
            del row["error"]
        except Exception as exc:
            row["error"] = one_line(exc)
        row["wall_s"] = round(time.monotonic() - started, 1)
        check.log("amp", f"{precision} seed {seed}: " + (row["error"] if "error" in row else
                  f"final FID {_num(row.get('fid_end'))}, losses finite {row['losses_finite']}, "
                  f"{row['img_per_s']} img/s"))
        free_memory(check.device)
    _judge_amp(out)


def _grad_scales(run: RunDir) -> dict[str, float]:
    """The fp16 GradScaler scales at the last checkpoint (a scale that collapsed towards 0 means overflows)."""
    from ganzoo.engine.checkpoint import read_metadata

    meta = read_metadata(run.list_checkpoints()[-1][1])
    return {net: json.loads(meta[f"scaler_{net}"]).get("scale") for net in ("D", "G") if f"scaler_{net}" in meta}


def _judge_amp(out: dict[str, Any]) -> None:
    """The fp32 spread (mean +- 2 sample sd of the seeds' final FIDs) and whether each AMP run lies within it."""
    rows = out["rows"]
    fp32 = [r["fid_end"] for r in rows if r["precision"] == "fp32" and r.get("fid_end") is not None]
    same_seed = next((r.get("fid_end") for r in rows if r["precision"] == "fp32"), None)
    spread: dict[str, Any] = {"n": len(fp32), "values": fp32, "rule": "mean +- 2 sample sd of the fp32 final FIDs"}
    if len(fp32) >= 2:
        mean, sd = statistics.fmean(fp32), statistics.stdev(fp32)
        spread.update(mean=mean, sd=sd, low=mean - 2 * sd, high=mean + 2 * sd)
    out["fp32_spread"] = spread
    verdicts = []
    for r in rows:
        if r["precision"] == "fp32" or "fid_end" not in r:
            continue
        if same_seed is not None:
            r["fid_minus_fp32_same_seed"] = r["fid_end"] - same_seed
        if "low" in spread:
            r["within_fp32_spread"] = spread["low"] <= r["fid_end"] <= spread["high"]
            verdicts.append(f"{r['precision']} {'within' if r['within_fp32_spread'] else 'OUTSIDE'}")
        if not r["losses_finite"]:
            verdicts.append(f"{r['precision']} losses not finite")
    if "low" in spread:
        out["summary"] = (f"fp32 final FID {spread['mean']:.2f} +- {spread['sd']:.2f} over {len(fp32)} seeds; "
                          + (", ".join(verdicts) or "no AMP run finished"))
    else:
        out["summary"] = f"no spread: {len(fp32)} fp32 run(s) finished with a FID"


def check_inception(check: Check, out: dict[str, Any]) -> None:
    """Inception img/s at each batch size, from uint8 images in host memory, in full float32 as ganzoo scores; on
    CUDA, GPU vs CPU features in full float32 and with TF32 (PyTorch's default for cuDNN)."""
    import inception_speed

    from ganzoo.metrics.exact import full_float32
    from ganzoo.metrics.inception import build_inception

    plan, device = check.plan, check.device
    started = time.monotonic()
    extractor = build_inception(device=device)
    out.update(build_s=round(time.monotonic() - started, 2), images=plan.inception_images, rows=[])
    gen = torch.Generator().manual_seed(0)
    with full_float32():  # as extract() runs it when ganzoo scores
        for size, channels in plan.inception_inputs:
            images = torch.randint(0, 256, (plan.inception_images, channels, size, size), dtype=torch.uint8,
                                   generator=gen)
            for batch in plan.inception_batches:
                row: dict[str, Any] = {"size": size, "channels": channels, "batch": batch, "error": UNFINISHED}
                out["rows"].append(row)
                features = inception_speed.with_batch_size(extractor, batch)
                try:
                    reset_peak_memory(device)
                    features(images[:batch])  # warm-up: cuDNN's algorithm choice, the allocator
                    times = []
                    for _ in range(plan.inception_repeats):
                        sync(device)
                        t0 = time.perf_counter()
                        features(images)
                        sync(device)
                        times.append(time.perf_counter() - t0)
                    row.update(img_per_s=round(len(images) / statistics.median(times), 1),
                               each=[round(len(images) / t, 1) for t in times], peak_memory_mib=peak_memory_mib(device))
                    del row["error"]
                except Exception as exc:
                    row["error"] = one_line(exc)
                check.log("inception", f"{size}px x{channels} batch {batch}: {row.get('img_per_s', row.get('error'))} "
                          "img/s")
                free_memory(device)
    if device.type == "cuda":
        images = torch.randint(0, 256, (8, 3, 299, 299), dtype=torch.uint8, generator=gen)
        cpu = build_inception(device="cpu")
        with torch.inference_mode():
            reference = cpu(images).features
            with full_float32():
                out["gpu_vs_cpu_features"] = inception_speed.differences(extractor(images).features.cpu(), reference)
            tf32 = inception_speed.differences(extractor(images).features.cpu(), reference)
        out["gpu_vs_cpu_features"]["with_torch_defaults"] = tf32 | {"tf32_cudnn": torch.backends.cudnn.allow_tf32}
    else:
        out["gpu_vs_cpu_features"] = {"skipped": "The check runs on the CPU: nothing to compare with"}
    best = max((r for r in out["rows"] if "img_per_s" in r), key=lambda r: r["img_per_s"], default=None)
    out["summary"] = (f"best {best['img_per_s']:.0f} img/s ({best['size']}px, batch {best['batch']})" if best
                      else "no batch size ran")


NCCL_PROBE = r"""
import datetime, os, sys
import torch, torch.distributed as dist
rank = int(os.environ["RANK"])
try:
    torch.cuda.set_device(0)
    dist.init_process_group("nccl", rank=rank, world_size=2, timeout=datetime.timedelta(seconds=60))
    x = torch.ones(1, device="cuda")
    dist.all_reduce(x)
    torch.cuda.synchronize()
    print(f"rank {rank}: all_reduce of two ones on one GPU gave {x.item():g}", flush=True)
    dist.destroy_process_group()
except Exception as exc:
    print(f"rank {rank}: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}", flush=True)
    sys.exit(3)
"""


def check_nccl(check: Check, out: dict[str, Any]) -> None:
    """``ganzoo train --nproc 2 --device cuda``; with fewer than two GPUs, also a raw two-rank NCCL all_reduce."""
    if check.device.type != "cuda":
        raise Skip("NCCL is the CUDA backend; on CPU --nproc uses gloo, which tests/test_distributed.py runs in CI")
    from ganzoo.engine.launch import _free_port

    gpus = torch.cuda.device_count()
    run_dir = check.work / "runs" / "nproc2"
    cmd = [sys.executable, "-m", "ganzoo", "train", "dcgan", "--nproc", "2", "--device", "cuda", "--steps",
           str(check.plan.nproc_steps), "--fid-every", "0", "--out", str(run_dir), "-q",
           *(["--dataset", check.plan.dataset] if check.plan.dataset else [])]
    done = run_processes([(cmd, check.env)], timeout=max(5.0, min(90.0, check.section_left() - 25)),
                         logs=check.work / "logs" / "nproc")[0]
    cli: dict[str, Any] = {"command": shlex.join(cmd), "gpus": gpus, "returncode": done.returncode,
                           "seconds": done.seconds, "last_line": done.last_line[:400]}
    out["cli"] = cli
    if done.returncode == 0:
        cli.update(run_summary(RunDir(run_dir)))
        out.update(possible=True, summary=f"--nproc 2 trained {cli['steps']} steps over NCCL, losses finite "
                                          f"{cli['losses_finite']}")
        return
    if done.returncode is None:
        cli["last_line"] = f"killed after {done.seconds:.0f} s (timeout); last output: {done.last_line[:300]}"
    out["possible"] = False
    check.log("nccl", f"--nproc 2: {cli['last_line']}")
    if gpus >= 2:
        out["summary"] = f"--nproc 2 failed on {gpus} GPUs: {cli['last_line']}"
        return
    env = {**check.env, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2",
           "NCCL_DEBUG": "WARN"}
    probe = run_processes([([sys.executable, "-c", NCCL_PROBE], {**env, "RANK": str(r), "LOCAL_RANK": str(r)})
                           for r in (0, 1)], timeout=max(10.0, min(75.0, check.section_left() - 5)),
                          logs=check.work / "logs" / "nccl-probe")
    out["probe"] = [{"rank": r, "returncode": p.returncode, "seconds": p.seconds, "said": _nccl_line(p)}
                    for r, p in enumerate(probe)]
    verdict = ("NCCL itself ran two ranks on the one GPU" if all(p.returncode == 0 for p in probe)
               else f"NCCL with two ranks on one GPU: {_nccl_line(probe[0])}")
    out["summary"] = f"not possible with {gpus} GPU: ganzoo says {cli['last_line']!r}; {verdict}"
    check.log("nccl", verdict)


def _nccl_line(done: Finished) -> str:
    """The most telling line of a probe rank's output: NCCL's own warning if it gave one, else the last line."""
    if done.returncode is None:
        return f"killed after {done.seconds:.0f} s (timeout); last output: {done.last_line[:300]}"
    lines = done.output.splitlines()
    return next((line.strip()[:400] for line in lines if "Duplicate GPU" in line or "NCCL WARN" in line),
                done.last_line[:400])


def check_bench(check: Check, out: dict[str, Any]) -> None:
    """``ganzoo bench dcgan`` (at its defaults unless --quick) in a child process with the section's timeout."""
    bench_out = check.work / "bench-dcgan"
    shutil.rmtree(bench_out, ignore_errors=True)  # a finished run there would be reused, not timed
    extra = list(check.plan.bench_args)
    if check.plan.quick:  # a tiny folder of images instead of decoding MNIST: seconds, not minutes
        extra += ["--dataset", f"folder:{make_image_folder(check.work / 'bench-images')}"]
    cmd = [sys.executable, "-m", "ganzoo", "bench", "dcgan", "-q", "--device", str(check.device), "--out",
           str(bench_out), *extra]
    out["command"] = shlex.join(["ganzoo", *cmd[3:]])
    done = run_processes([(cmd, check.env)], timeout=max(1.0, check.section_left() - 3),
                         logs=check.work / "logs" / "bench")[0]
    out.update(returncode=done.returncode, seconds=done.seconds)
    if done.returncode != 0:
        what = "killed at the section's time limit" if done.returncode is None else f"exit status {done.returncode}"
        raise RuntimeError(f"ganzoo bench: {what}: {done.last_line[:300]}")
    metrics = json.loads((bench_out / "metrics.json").read_text())
    out.update(timings_s={k: round(v, 2) for k, v in metrics["timings_s"].items()}, steps=metrics["train"]["steps"],
               dataset=metrics["dataset"], num_samples=metrics["num_samples"], cached=metrics["cached"],
               fid_while_training_points=len(metrics.get("fid_while_training") or []), scores={})
    for extractor, block in metrics.get("scores", {}).items():
        out["scores"][extractor] = {which: {k: v for k, v in scores.items()
                                            if v is None or isinstance(v, (int, float, str))}
                                    for which, scores in block.items()}
    inception = out["scores"].get("inception", {}).get("final", {}).get("fid")
    out["summary"] = (f"{out['steps']} steps, N={out['num_samples']}, total {out['timings_s']['total']:.0f} s"
                      + (f", Inception FID {inception:.2f}" if inception is not None else ""))


LAUNCH_CALLS = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx")


def check_step_profile(check: Check, out: dict[str, Any]) -> None:
    """Where a dcgan step's time goes at its default batch: the step times of a ``ganzoo.train`` run, then
    ``torch.profiler`` over the engine's steps (throughput.py's loop on in-memory images)."""
    plan, variant = check.plan, "dcgan"
    spec = check.registry.variant(variant)
    batch = plan.train_options.get("batch_size", spec.defaults.batch_size)
    out.update(variant=variant, batch=batch)
    run = train(check, variant, "profile", plan.profile_run_steps, fid_every=plan.profile_run_steps * 10)
    out["run"] = step_time_spread([r["train_s"] for r in run.read_metrics() if "d_loss" in r])
    loop = tp.EngineLoop(check.registry, variant, 32, 1, batch, True, False, "engine", 0, check.work / "profile",
                         device=str(check.device))
    n = plan.profile_steps
    for _ in range(max(1, n // 4)):  # warm-up: allocator, cuDNN's algorithm choice
        loop.step()
    sync(check.device)
    t0 = time.perf_counter()
    for _ in range(n):
        loop.step()
    sync(check.device)
    out["loop_ms_per_step"] = round(1000 * (time.perf_counter() - t0) / n, 3)
    out["profile"] = profile_steps(loop, n, check.device)
    p = out["profile"]
    gpu = (f", {p['kernel_launches']:.0f} kernel launches, {p['synchronisations']:.0f} synchronisations, GPU busy "
           f"{p['gpu_busy']:.0%}" if "gpu_busy" in p else "")
    out["summary"] = (f"ganzoo.train step {out['run']['median_ms']:.1f} ms median, {out['run']['mean_ms']:.1f} "
                      f"mean; engine loop {out['loop_ms_per_step']:.1f} ms; per step {p['host_ops']:.0f} host "
                      f"operators{gpu}")


def step_time_spread(train_s: list[float]) -> dict[str, Any]:
    """Median, mean and tail of the step times, from the cumulative training seconds of metrics.jsonl; the first
    tenth of the steps (one-time costs) is left out when there are 20 or more."""
    times = [b - a for a, b in zip([0.0, *train_s], train_s, strict=False)]
    skip = len(times) // 10 if len(times) >= 20 else 0
    kept = sorted(times[skip:])
    if not kept:
        raise RuntimeError("the run logged no steps")
    median = statistics.median(kept)
    slow = [t for t in kept if t > 2 * median]
    return {"steps": len(kept), "skipped_first": skip, "median_ms": round(1000 * median, 3),
            "mean_ms": round(1000 * statistics.fmean(kept), 3),
            "p90_ms": round(1000 * kept[int(0.9 * (len(kept) - 1))], 3), "max_ms": round(1000 * kept[-1], 3),
            "slow_steps": len(slow), "slow_share_of_time": round(sum(slow) / sum(kept), 3)}


def profile_steps(loop: Any, n: int, device: torch.device) -> dict[str, Any]:
    """``n`` engine steps under torch.profiler: host operators, kernel launches, synchronisations and GPU time per
    step (CUDA only), and the operators with the most host time."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        t0 = time.perf_counter()
        for _ in range(n):
            loop.step()
        sync(device)
        wall_us = 1e6 * (time.perf_counter() - t0)
    events = prof.events()
    host = [e for e in events if e.device_type == DeviceType.CPU]
    result: dict[str, Any] = {"steps": n, "ms_per_step_profiled": round(wall_us / n / 1000, 3),
                              "host_ops": round(sum(e.name.startswith("aten::") for e in host) / n, 1)}
    if device.type == "cuda":
        # kernels and copies; not the GPU-side spans of record_function annotations (Optimizer.step makes them),
        # which cover those kernels again
        on_gpu = [e for e in events if e.device_type == DeviceType.CUDA and not getattr(e, "is_user_annotation", False)]
        gpu_us = sum(e.time_range.elapsed_us() for e in on_gpu)
        result.update(kernel_launches=round(sum(e.name in LAUNCH_CALLS for e in host) / n, 1),
                      synchronisations=round(sum("Synchronize" in e.name for e in host) / n, 1),
                      memcpy_calls=round(sum(e.name.startswith("cudaMemcpy") for e in host) / n, 1),
                      gpu_ms_per_step=round(gpu_us / n / 1000, 3), gpu_busy=round(gpu_us / wall_us, 3))
    top = sorted((a for a in prof.key_averages() if a.key.startswith("aten::")),
                 key=lambda a: a.self_cpu_time_total, reverse=True)[:8]
    result["top_host_ops"] = [{"op": a.key, "calls_per_step": round(a.count / n, 1),
                               "self_host_ms_per_step": round(a.self_cpu_time_total / n / 1000, 3)} for a in top]
    return result


def make_image_folder(folder: Path, n: int = 120, size: int = 32) -> Path:
    """``n`` grayscale PNGs of a bright blob at random places: a dataset for a seconds-long bench."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 6) ** 2))
        Image.fromarray((255 * blob).astype(np.uint8)).save(folder / f"{i:04d}.png")
    return folder


def check_throughput(check: Check, out: dict[str, Any]) -> None:
    """dcgan's engine img/s over image size x batch (fixed, largest that fits) x compile x layout."""
    plan, registry = check.plan, check.registry
    variant = "dcgan"
    spec = registry.variant(variant)
    out.update(variant=variant, channels=1, ema=True, rows=[], largest_batch={},
               rule="img/s = batch * n_critic * steps / wall seconds (the engine syncs once per step); median of "
                    "the rounds; 'first step s' includes compilation")
    sizes = [s for s in plan.sizes if s in spec.image_sizes]
    for size in sizes:
        out["largest_batch"][size] = found = largest_batch(check, variant, size)
        check.log("throughput", f"{size}px: largest batch {found['batch']} ({found['stopped']})")
    configs = throughput_rows(sizes, plan.batch, {size: out["largest_batch"][size]["batch"] for size in sizes},
                              plan.compile)
    if not plan.compile:
        out["compile_skipped"] = ("torch.compile takes minutes on a CPU (71 s for dcgan on the 2-core machine); "
                                  "--quick times eager only")
    for compiled, size, batch, layout in configs:
        row: dict[str, Any] = {"image_size": size, "batch": batch, "compile": compiled, "layout": layout}
        out["rows"].append(row)
        need = plan.compile_reserve_s if compiled else MIN_SECTION_S
        if check.section_left() < need:
            row["skipped"] = f"less than {need:.0f} s of the section's time was left"
            continue
        row["error"] = UNFINISHED
        timed = time_row(check, variant, size, batch, layout, compiled, spec.defaults.n_critic)
        row.pop("error")
        row.update(timed)
        check.log("throughput", f"{size}px batch {batch} {'compiled' if compiled else 'eager'} {layout}: "
                  + (row["error"] if "error" in row else f"{row['img_per_s']:.0f} img/s"))
    timed = [r for r in out["rows"] if "img_per_s" in r]
    best = max(timed, key=lambda r: r["img_per_s"], default=None)
    out["summary"] = (f"{len(timed)} of {len(out['rows'])} rows timed; best {best['img_per_s']:.0f} img/s "
                      f"({best['image_size']}px, batch {best['batch']}, "
                      f"{'compiled' if best['compile'] else 'eager'}, {best['layout']})" if best else "no row timed")


def throughput_rows(sizes: list[int], batch: int, largest: dict[int, int | None],
                    compile_rows: bool) -> list[tuple[bool, int, int, str]]:
    """(compiled, size, batch, layout) of every row, in the order they are timed: the eager rows at the plan's
    batch, then the compiled ones at the first size and that batch (so that a short budget still compares eager
    with compiled), then the eager rows at the largest batch, then the other compiled rows."""
    layouts = ("contiguous", "channels-last")
    batches = {size: list(dict.fromkeys(b for b in (batch, largest[size]) if b)) for size in sizes}
    every = [(compiled, size, b, layout) for compiled in ((False, True) if compile_rows else (False,))
             for size in sizes for b in batches[size] for layout in layouts]
    first = [row for row in every if row[2] == batch and (not row[0] or row[1] == sizes[0])]
    return first + [row for row in every if row not in first]


def largest_batch(check: Check, variant: str, size: int) -> dict[str, Any]:
    """Double the batch from the plan's until a training step runs out of memory, reaches the cap, or takes longer
    than the plan allows; eager, the engine's own layout."""
    plan = check.plan
    batch, fits, tried = plan.batch, None, []
    stopped = f"reached the cap of {plan.max_batch} without running out of memory"
    while batch <= plan.max_batch:
        loop, oom, step_s = None, None, None
        try:
            loop = tp.EngineLoop(check.registry, variant, size, 1, batch, True, False, "engine", 0,
                                 check.work / "throughput", device=str(check.device))
            loop.step()
            t0 = time.perf_counter()
            loop.step()
            step_s = time.perf_counter() - t0
        except Exception as exc:
            if not is_oom(exc):
                raise
            oom = one_line(exc)
        finally:
            del loop
            free_memory(check.device)
        tried.append({"batch": batch, **({"out_of_memory": oom} if oom else {"step_s": round(step_s, 4)})})
        if oom:
            stopped = f"out of memory at batch {batch}"
            break
        fits = batch
        if step_s > plan.search_step_s:
            stopped = f"a step at batch {batch} took {step_s:.1f} s (> {plan.search_step_s:g} s)"
            break
        batch *= 2
    return {"batch": fits, "stopped": stopped, "tried": tried}


def time_row(check: Check, variant: str, size: int, batch: int, layout: str, compiled: bool,
             n_critic: int) -> dict[str, Any]:
    """One throughput row: build the engine's loop, take its first step (compiling), pick the steps per round from
    the next step's time, then throughput.measure()."""
    plan, device = check.plan, check.device
    if compiled:
        torch._dynamo.reset()  # every compiled row pays (and reports) its own compilation
    reset_peak_memory(device)
    loop = None
    try:
        loop = tp.EngineLoop(check.registry, variant, size, 1, batch, True, compiled, layout, 0,
                             check.work / "throughput", device=str(device))
        t0 = time.perf_counter()
        loop.step()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        loop.step()
        steps = max(1, min(plan.max_steps, int(plan.round_s / max(time.perf_counter() - t0, 1e-9))))
        block = tp.measure({"engine": loop}, steps, plan.repeats, plan.warmup, batch * n_critic)["engine"]
    except Exception as exc:
        return {"error": "out of memory" if is_oom(exc) else one_line(exc)}
    finally:
        del loop
        free_memory(device)
    if "error" in block:
        return {"error": block["error"]}
    return {"img_per_s": block["median_img_per_s"], "each": block["img_per_s"], "steps_per_round": steps,
            "first_step_s": round(first, 2), "peak_memory_mib": peak_memory_mib(device)}


CHECKS: dict[str, Callable[[Check, dict[str, Any]], None]] = {
    "variants": check_variants, "amp": check_amp, "inception": check_inception, "nccl": check_nccl,
    "bench": check_bench, "step_profile": check_step_profile, "throughput": check_throughput,
}


# --- the run -----------------------------------------------------------------------------------------------------

def run_section(check: Check, name: str) -> dict[str, Any]:
    """Run one section within its time limit; whatever happens, a record with a status and its results so far."""
    results: dict[str, Any] = {}
    timeout = min(check.plan.timeouts_s[name], check.remaining())
    if timeout < MIN_SECTION_S:
        return {"status": "skipped", "reason": f"the total budget of {check.plan.budget_s:.0f} s was spent"}
    record: dict[str, Any] = {"status": "ok", "timeout_s": round(timeout), "results": results}
    check.section_ends = time.monotonic() + timeout
    check.log(name, f"started (time limit {timeout:.0f} s)")
    started = time.monotonic()
    try:
        with deadline(timeout):
            CHECKS[name](check, results)
    except Skip as exc:
        record.update(status="skipped", reason=str(exc))
    except SectionTimeout:
        record.update(status="timeout", error=f"stopped at its time limit of {timeout:.0f} s; results so far kept")
    except Terminated:
        record.update(status="terminated", error="SIGTERM arrived (the outer timeout?); results so far kept")
        check.terminated = True
    except Exception as exc:  # noqa: BLE001 - one section failing must not stop the others
        record.update(status="failed", error=one_line(exc), traceback=traceback.format_exc(limit=8))
    finally:
        check.section_ends = math.inf
        record["seconds"] = round(time.monotonic() - started, 1)
        free_memory(check.device)
    check.log(name, f"{record['status']} in {record['seconds']:.0f} s: "
              + (record.get("reason") or record.get("error") or results.get("summary", "")))
    return record


def environment(device: torch.device, commit: str | None) -> dict[str, Any]:
    """Machine, library versions, date and commit; on CUDA the GPU, driver, CUDA, cuDNN and NCCL versions."""
    env = common.machine_info(device)
    env.update(date=common.timestamp(), commit=commit or git_commit(), cuda_runtime=torch.version.cuda,
               cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        nccl = torch.cuda.nccl.version() if torch.distributed.is_nccl_available() else None
        env.update(gpu=props.name, gpu_count=torch.cuda.device_count(),
                   gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   compute_capability=f"{props.major}.{props.minor}", driver=nvidia_smi("driver_version"),
                   nccl=".".join(map(str, nccl)) if nccl else None, bf16_supported=torch.cuda.is_bf16_supported(),
                   tf32={"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
                   cudnn_benchmark=torch.backends.cudnn.benchmark)
    return env


def git_commit() -> str | None:
    """HEAD of the checkout, with ``-dirty`` when tracked files differ from it; None outside a git checkout."""
    try:
        head = subprocess.run(["git", "-C", str(common.ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(common.ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


def nvidia_smi(field: str) -> str | None:
    try:
        text = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=15, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return text.splitlines()[0].strip() if text.strip() else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    p.add_argument("--quick", action="store_true", help="smoke test: tiny counts, random images, seconds on a CPU")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for gpu_check.json and gpu_check.md (default benchmarks/results/gpu; with --quick a "
                        "temporary folder)")
    p.add_argument("--budget", type=float, default=None,
                   help="total seconds the sections may take (default 480, so that with start-up the run ends "
                        "within 9 minutes; --quick 300)")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)} (default all, in that order)")
    p.add_argument("--seeds", default=None, help="fp32 seeds of the AMP spread, comma-separated (default 0,1,2; "
                                                 "--quick 0,1)")
    p.add_argument("--commit", default=None, help="the commit to record (default: git rev-parse HEAD)")
    p.add_argument("--keep-runs", action="store_true", help="keep the run directories and logs under OUT/work")
    args = p.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown or not args.sections:
        p.error(f"--sections: unknown section(s) {', '.join(unknown) or '(none given)'}; choose from "
                f"{', '.join(SECTIONS)}")
    if args.budget is not None and not (math.isfinite(args.budget) and args.budget > 0):
        p.error(f"--budget must be a positive number of seconds, got {args.budget:g}")
    if args.seeds is not None:
        try:
            args.seeds = tuple(int(s) for s in args.seeds.split(",") if s.strip())
        except ValueError:
            p.error(f"--seeds: {args.seeds!r} is not a comma-separated list of integers")
        if not args.seeds or len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
            p.error("--seeds: give distinct non-negative seeds, e.g. 0,1,2")
    return args


def run_check(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the check; returns the result that was written to OUT/gpu_check.json."""
    started = time.monotonic()
    args = parse_args(argv)
    try:
        device = select_device(args.device)
    except ganzoo.GanzooError as exc:
        raise SystemExit(f"error: {exc}") from None
    if device.type not in ("cuda", "cpu"):
        raise SystemExit(f"error: the check runs on cuda or cpu, not {device.type}")
    plan = QUICK if args.quick else FULL
    plan = dataclasses.replace(plan, **({"budget_s": args.budget} if args.budget else {}),
                               **({"seeds": args.seeds} if args.seeds else {}))
    out = args.out or (Path(tempfile.mkdtemp(prefix="ganzoo-gpu-check-")) if args.quick
                       else common.RESULTS / "gpu")
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work" if args.keep_runs else Path(tempfile.mkdtemp(prefix="ganzoo-gpu-check-work-"))
    env = dict(os.environ)
    if plan.quick:  # one thread: the figures mean nothing, and on a busy machine threads stall each other
        common.set_threads(1)
        env["OMP_NUM_THREADS"] = "1"
    registry = check_registry(max(tp.NUM_IMAGES, plan.max_batch if "throughput" in args.sections else 0))
    check = Check(plan, device, registry, work, started, env)
    result: dict[str, Any] = {
        "schema": 1, "command": common.command_line(__file__, argv), "quick": plan.quick, "device": str(device),
        "environment": environment(device, args.commit), "budget_s": plan.budget_s,
        "plan": dataclasses.asdict(plan),
        "sections": {name: {"status": "skipped", "reason": "not asked for (--sections)"} for name in SECTIONS},
    }
    for name in args.sections:
        result["sections"][name] = {"status": "pending", "reason": "not reached"}
    paths = (out / "gpu_check.json", out / "gpu_check.md")

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        for name in args.sections:
            result["sections"][name] = run_section(check, name)
            result["elapsed_s"] = round(time.monotonic() - started, 1)
            write(result, *paths)
            if check.terminated:
                break
    finally:
        signal.signal(signal.SIGTERM, previous)
        if not args.keep_runs:
            shutil.rmtree(work, ignore_errors=True)
    result["terminated"] = check.terminated
    for record in result["sections"].values():
        if record["status"] == "pending":
            record.update(status="skipped", reason="the run was terminated before this section")
    write(result, *paths)
    print(result["table_md"])
    print(f"\nwrote {paths[0]} and {paths[1]} ({result['elapsed_s']:.0f} s)")
    return result


def write(result: dict[str, Any], json_path: Path, md_path: Path) -> None:
    from ganzoo.engine.checkpoint import atomic_write

    result["table_md"] = markdown(result)
    common.write_json(json_path, result)
    atomic_write(md_path, lambda tmp: Path(tmp).write_text(result["table_md"] + "\n"))


# --- the Markdown ------------------------------------------------------------------------------------------------

def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e5 else f"{value:.3g}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(_num(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]


def markdown(result: dict[str, Any]) -> str:
    """The whole report: header, one line per section, then a table per section that has results."""
    env, sections = result["environment"], result["sections"]
    device = (f"{env.get('gpu')} ({env.get('gpu_memory_gib')} GiB, compute capability "
              f"{env.get('compute_capability')}), driver {env.get('driver')}, CUDA {env.get('cuda_runtime')}, "
              f"cuDNN {env.get('cudnn')}, NCCL {env.get('nccl')}" if result["device"].startswith("cuda")
              else f"CPU: {env.get('processor')}, {env.get('cpu_count')} cores")
    lines = [f"# ganzoo GPU check{' (quick: a smoke test, the figures mean nothing)' if result['quick'] else ''}", "",
             f"`{result['command']}`, {env['date']}, commit {env.get('commit') or 'unknown'}", "",
             f"{device}; torch {env['torch']}, Python {env['python']}, ganzoo {env['ganzoo']}. "
             f"{result.get('elapsed_s', 0):.0f} s in all, budget {result['budget_s']:.0f} s for the sections.", ""]
    lines += _table(["section", "status", "seconds", "result"],
                    [[name, r["status"], r.get("seconds"),
                      (r.get("reason") or r.get("error") or r.get("results", {}).get("summary", "")).replace("|", "/")]
                     for name, r in sections.items()])
    for name, render in RENDERERS.items():
        results = sections.get(name, {}).get("results")
        if results:
            lines += ["", f"## {name}", "", *render(results)]
    return "\n".join(lines)


def _md_variants(r: dict[str, Any]) -> list[str]:
    options = ", ".join(f"{k} {v}" for k, v in r.get("options", {}).items()) or "each variant's defaults"
    note = f" {r['fid_skipped']}." if r.get("fid_skipped") else ""
    return [f"{r['steps']} steps on {r['dataset']}; batch size and EMA: {options}.{note}", ""] + _table(
        ["variant", "steps", "losses finite", "d_loss", "g_loss", "img/s", "FID start", "FID end", "extractor",
         "wall s", "error"],
        [[x["variant"], x.get("steps"), x.get("losses_finite"), x.get("d_loss"), x.get("g_loss"), x.get("img_per_s"),
          x.get("fid_start"), x.get("fid_end"), x.get("fid_extractor", "-"), x.get("wall_s"), x.get("error", "")]
         for x in r.get("rows", [])])


def _md_amp(r: dict[str, Any]) -> list[str]:
    spread = r.get("fp32_spread", {})
    band = (f"fp32 spread: mean {spread['mean']:.2f}, sd {spread['sd']:.2f} over {spread['n']} seeds; within means "
            f"{spread['low']:.2f} <= FID <= {spread['high']:.2f}." if "low" in spread else "no fp32 spread.")
    options = ", ".join(f"{k} {v}" for k, v in r.get("options", {}).items()) or "dcgan's defaults"
    return [f"{r['variant']}, {r['steps']} steps ({options}), FID every {r['fid_every']} steps. {band}", ""] + _table(
        ["precision", "seed", "losses finite", "final FID", "minus fp32 same seed", "within fp32 spread", "img/s",
         "grad scale (D, G)", "note"],
        [[x["precision"], x["seed"], x.get("losses_finite"), x.get("fid_end"), x.get("fid_minus_fp32_same_seed"),
          x.get("within_fp32_spread"), x.get("img_per_s"),
          ", ".join(_num(v, 1) for v in x["grad_scale"].values()) if x.get("grad_scale") else "-",
          x.get("error") or x.get("skipped") or ""] for x in r.get("rows", [])])


def _md_inception(r: dict[str, Any]) -> list[str]:
    diff = r.get("gpu_vs_cpu_features", {})
    defaults = diff.get("with_torch_defaults", {})
    note = diff.get("skipped") or (
        f"GPU vs CPU features (8 images), in full float32 as ganzoo scores: max abs diff "
        f"{diff.get('max_abs_diff'):.2e}, relative {diff.get('max_rel_diff'):.2e}; with PyTorch's defaults (cuDNN "
        f"TF32 {'on' if defaults.get('tf32_cudnn') else 'off'}): {defaults.get('max_abs_diff', math.nan):.2e} and "
        f"{defaults.get('max_rel_diff', math.nan):.2e}")
    return [f"{r.get('images')} uint8 images per pass from host memory; built in {r.get('build_s')} s. {note}.",
            ""] + _table(["input", "batch", "img/s", "per repeat", "peak MiB", "error"],
                         [[f"{x['size']}px x{x['channels']}", x["batch"], x.get("img_per_s"),
                           ", ".join(map(str, x.get("each", []))), x.get("peak_memory_mib"), x.get("error", "")]
                          for x in r.get("rows", [])])


def _md_nccl(r: dict[str, Any]) -> list[str]:
    cli = r.get("cli", {})
    lines = [f"`{cli.get('command', '')}`: exit {cli.get('returncode')}, {cli.get('seconds')} s: "
             f"{cli.get('last_line', '')}"]
    lines += [f"- NCCL probe rank {p['rank']}: exit {p['returncode']}: {p['said']}" for p in r.get("probe", [])]
    return lines


def _md_bench(r: dict[str, Any]) -> list[str]:
    timings = r.get("timings_s", {})
    lines = [f"`{r.get('command')}`: {r.get('steps')} steps on {r.get('dataset')}, N = {r.get('num_samples')}, "
             f"cached: {', '.join(r.get('cached', [])) or 'nothing'}.", ""]
    lines += _table(list(timings), [list(timings.values())])
    rows = []
    for extractor, block in r.get("scores", {}).items():
        for key in ("fid", "kid_mean", "precision", "recall", "is_mean", "modes_covered"):
            if any(block.get(w, {}).get(key) is not None for w in ("final", "step0", "floor")):
                rows.append([extractor, key, *(block.get(w, {}).get(key) for w in ("final", "step0", "floor"))])
    return lines + ([""] + _table(["extractor", "metric", "trained", "untrained", "floor (real vs real)"], rows)
                    if rows else [])


def _md_step_profile(r: dict[str, Any]) -> list[str]:
    run, p = r.get("run", {}), r.get("profile", {})
    lines = [f"{r.get('variant')}, batch {r.get('batch')}. A `ganzoo.train` run's step times over its last "
             f"{run.get('steps')} steps: median {_num(run.get('median_ms'))} ms, mean {_num(run.get('mean_ms'))}, "
             f"p90 {_num(run.get('p90_ms'))}, max {_num(run.get('max_ms'))}; {run.get('slow_steps')} steps over twice "
             f"the median take {_num(run.get('slow_share_of_time'))} of the time. The engine loop on in-memory "
             f"images: {_num(r.get('loop_ms_per_step'))} ms per step, {_num(p.get('ms_per_step_profiled'))} under "
             "the profiler.", ""]
    if "gpu_busy" in p:
        lines += [f"Per step: {p['host_ops']} host operators, {p['kernel_launches']} kernel launches, "
                  f"{p['synchronisations']} synchronisations, {p['memcpy_calls']} memcpy calls, GPU busy "
                  f"{p['gpu_ms_per_step']} ms ({p['gpu_busy']:.0%} of the profiled step).", ""]
    else:
        lines += [f"Per step: {p.get('host_ops')} host operators (no GPU here).", ""]
    rows = [[x["op"], x["calls_per_step"], x["self_host_ms_per_step"]] for x in p.get("top_host_ops", [])]
    return lines + _table(["operator", "calls per step", "self host ms per step"], rows)


def _md_throughput(r: dict[str, Any]) -> list[str]:
    found = "; ".join(f"{size}px: {f['batch']} ({f['stopped']})" for size, f in r.get("largest_batch", {}).items())
    lines = [f"{r.get('variant')}, {r.get('channels')} channel, EMA on. Largest batch: {found}. {r.get('rule')}."]
    if r.get("compile_skipped"):
        lines[0] += f" Compiled rows skipped: {r['compile_skipped']}."
    return lines + [""] + _table(
        ["px", "batch", "compile", "layout", "img/s", "per round", "first step s", "peak MiB", "note"],
        [[x["image_size"], x["batch"], x["compile"], x["layout"], x.get("img_per_s"),
          ", ".join(f"{v:.0f}" for v in x.get("each", [])), x.get("first_step_s"), x.get("peak_memory_mib"),
          x.get("error") or x.get("skipped") or ""] for x in r.get("rows", [])])


RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "variants": _md_variants, "amp": _md_amp, "inception": _md_inception, "nccl": _md_nccl, "bench": _md_bench,
    "step_profile": _md_step_profile, "throughput": _md_throughput,
}


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 when every section ran or was skipped with a reason, 1 when one failed or timed out."""
    result = run_check(argv)
    return 0 if all(r["status"] in ("ok", "skipped") for r in result["sections"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
