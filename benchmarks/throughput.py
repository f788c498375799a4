"""Training-step throughput on CPU: ganzoo's engine (``Trainer.train_step``) against a bare hand-written PyTorch loop.

    # the recorded run, on a quiet machine (estimated 30-50 minutes on 2 cores; --sizes 32 alone about a quarter):
    python benchmarks/throughput.py
    python benchmarks/throughput.py --contiguous --out benchmarks/results/throughput_contiguous.json
    python benchmarks/throughput.py --compile --out benchmarks/results/throughput_compile.json
    python benchmarks/throughput.py --quick                  # smoke run (about a minute); writes to a temp dir
    python benchmarks/throughput.py --variants dcgan --sizes 64 --profile   # where the time goes, per loop

For every registered image variant at each ``--sizes`` it supports, both loops train the same networks
(``ganzoo.create``, same seed, so the same initial weights), with the variant's registered loss functions, its
optimizers, ``n_critic``, gradient penalty or weight clipping and EMA (the spec's default decay; ``--no-ema`` turns it
off in both), on the same in-memory uniform-random uint8 images (a dataset registered in a private registry, so
nothing is read from disk). The bare loop is what one would write by hand: fresh noise for every D step and for the
G step, D frozen during the G step, both losses read with ``.item()`` once per step, as a logging loop does. Before
timing, each row checks that both loops, fed the same batches and noise, end 3 steps (batch 16) with the same weights
bit for bit (column "same update"; ``--no-verify`` skips it), so the timings compare the same arithmetic.

After ``--warmup`` untimed steps of each loop, ``--repeats`` rounds each time ``--steps`` generator steps of one loop
then the other (the order alternates per round, so drift in machine load hits both). img/s counts real images
consumed: ``batch * n_critic`` per generator step. The table shows the median of each loop and the ratio of the
medians (engine / bare: 1.00 means no overhead), and the same ratio in images per second of process CPU time (with
``--threads 1`` the steadier figure on a busy machine). With ``--compile`` both loops ``torch.compile`` both networks
(the bare loop's gradient penalty goes through the eager D, as double backward cannot be compiled); both loops build
the same network classes, so the compiled graphs are shared: the engine, warmed up first, pays the compilation
("warm-up s"), which is never counted in img/s. A loop that fails is reported in its cell and the other still timed.
Both loops use the engine's memory layout: channels-last for convolutional networks on CPU (``ganzoo.engine.layout``);
``--contiguous`` keeps both in PyTorch's default layout, the engine's before channels-last became its default.
"""

from __future__ import annotations

import argparse
import copy
import gc
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
import torch

import ganzoo
from ganzoo.data import ArrayData, DataRequest
from ganzoo.engine import RunDir, TrainConfig, Trainer
from ganzoo.engine.layout import to_channels_last
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.specs import DatasetSpec, LossSpec, VariantSpec

RANDOM_DATASET = "throughput-random"
NUM_IMAGES = 1024  # random images held in memory; each epoch is 1024 // batch batches
RANDOM_CLASSES = 10
QUICK = {"sizes": [32], "batch_size": 16, "steps": 1, "repeats": 2, "warmup": 1}
VERIFY_STEPS, VERIFY_BATCH = 3, 16


def bench_registry(base: Registry, num_images: int) -> Registry:
    """A copy of ``base`` plus a dataset of uniform-random uint8 images with random labels in 10 classes (so
    conditional variants train on it too), so the engine trains without any file."""
    registry = Registry()
    for kind in base.kinds():
        for name in base.names(kind):
            entry = base.entry(kind, name)
            registry.add(entry.spec, entry.plugin)

    def load(request: DataRequest) -> ArrayData:
        rng = torch.Generator().manual_seed(request.seed)
        shape = (num_images, request.channels or 1, request.image_size, request.image_size)
        images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=rng)
        labels = torch.randint(0, RANDOM_CLASSES, (num_images,), generator=rng)
        return ArrayData(images, labels, "image", RANDOM_CLASSES)

    registry.add(DatasetSpec(RANDOM_DATASET, "uniform random uint8 images held in memory", load,
                             num_classes=RANDOM_CLASSES), "throughput-benchmark")
    return registry


LAYOUTS = ("engine", "contiguous", "channels-last")  # the engine's own choice, or one forced


class EngineLoop:
    """ganzoo's own training step, on ``device``, in memory layout ``layout`` (one of :data:`LAYOUTS`)."""

    def __init__(self, registry: Registry, variant: str, size: int, channels: int, batch: int, ema: bool,
                 compile_nets: bool, layout: str, seed: int, work: Path, device: str = "cpu") -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        config = TrainConfig(variant=variant, dataset=RANDOM_DATASET, image_size=size, channels=channels,
                             batch_size=batch, seed=seed, device=device, compile=compile_nets,
                             ema_decay=None if ema else 0.0, amp="off")  # the bare loop computes in float32
        self.trainer = t = Trainer(config, RunDir(work), registry)
        wanted = t.channels_last if layout == "engine" else layout == "channels-last"
        if wanted != t.channels_last:  # override the engine's layout choice (no optimizer state exists yet)
            for net in [t.G, t.D] + ([t.ema.module] if t.ema else []):
                if wanted:
                    to_channels_last(net)
                else:
                    net.to(memory_format=torch.contiguous_format)
            t.channels_last = wanted
        self.channels_last = t.channels_last
        self.images = self.trainer.data.data
        self.has_ema = self.trainer.ema is not None

    def step(self) -> None:
        self.trainer.train_step()


class BareLoop:
    """The same training step written by hand in plain PyTorch, without the engine's bookkeeping."""

    def __init__(self, registry: Registry, spec: VariantSpec, images: torch.Tensor, batch: int, ema: bool,
                 compile_nets: bool, channels_last: bool, seed: int) -> None:
        defaults = spec.defaults
        self.channels_last = channels_last
        self.loss: LossSpec = registry.loss(spec.loss)
        regs = [(registry.regulariser(name), value) for name, value in spec.regularisers.items()]
        self.penalties = [(r.penalty, v, r.every) for r, v in regs if r.penalty is not None]
        self.constraints = [(r.after_step, v) for r, v in regs if r.after_step is not None]
        self.spec, self.images, self.batch, self.z_dim = spec, images, batch, defaults.z_dim
        self.n_critic = defaults.n_critic
        torch.manual_seed(seed)  # the same initial weights the engine's Trainer builds
        self.G, self.D = ganzoo.create(spec.name, data_shape=tuple(images.shape[1:]), z_dim=self.z_dim,
                                       registry=registry)
        if channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.opt_g = defaults.g_optimizer.build(self.G.parameters())
        self.opt_d = defaults.d_optimizer.build(self.D.parameters())
        self.g_fwd, self.d_fwd = (torch.compile(self.G), torch.compile(self.D)) if compile_nets else (self.G, self.D)
        self.ema_decay = defaults.ema_decay if ema else None
        self.has_ema = bool(self.ema_decay)
        if self.has_ema:
            self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
            self.ema_pairs = (list(self.G_ema.parameters()), list(self.G.parameters()))
            self.buffer_pairs = list(zip(self.G_ema.buffers(), self.G.buffers(), strict=True))
        self.rng = torch.Generator().manual_seed(seed)
        self.per_epoch = len(images) // batch
        self.epoch, self.perm = -1, torch.empty(0, dtype=torch.long)
        self.k = 0  # real batches drawn
        self.d_steps = 0
        self.steps = 0

    def batch_rows(self, k: int) -> torch.Tensor:
        """Rows of real batch ``k``: a fresh permutation per epoch, the incomplete last batch dropped."""
        epoch, within = divmod(k, self.per_epoch)
        if epoch != self.epoch:
            self.epoch, self.perm = epoch, torch.randperm(len(self.images), generator=self.rng)
        return self.perm[within * self.batch:(within + 1) * self.batch]

    def real_batch(self) -> torch.Tensor:
        rows = self.batch_rows(self.k)
        self.k += 1
        batch = self.images[rows].float().div_(127.5).sub_(1.0)
        return batch.contiguous(memory_format=torch.channels_last) if self.channels_last else batch

    def step(self) -> None:
        loss = self.loss
        for k in range(self.n_critic):  # D (critic) steps, each on a fresh real batch
            real = self.real_batch()
            last = k == self.n_critic - 1
            with torch.set_grad_enabled(last):  # the last critic step's samples keep their graph for G's step
                generated = self.g_fwd(torch.randn(self.batch, self.z_dim))
            fake = generated.detach()
            d_loss = loss.d_loss(self.d_fwd(real), self.d_fwd(fake))
            # penalties through the eager D even under --compile: compiled graphs have no double backward
            inputs = ganzoo.PenaltyInputs(self.D, real, fake, lambda: torch.rand(self.batch))
            for penalty, value, every in self.penalties:  # lazy: every k-th D step, k times as strong
                if self.d_steps % every == 0:
                    d_loss = d_loss + (value * every) * penalty(inputs)
            self.d_steps += 1
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            for after_step, value in self.constraints:
                with torch.no_grad():
                    after_step(self.D, value)

        self.D.requires_grad_(False)  # G step: no gradients for D's weights
        fake_scores = self.d_fwd(generated)
        g_loss = loss.g_loss(fake_scores, self.d_fwd(real) if loss.g_uses_real else None)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)

        if self.has_ema:
            with torch.no_grad():
                decay = min(self.ema_decay, (1 + self.steps) / (10 + self.steps))
                torch._foreach_lerp_(self.ema_pairs[0], self.ema_pairs[1], 1.0 - decay)
                for ema_buffer, buffer in self.buffer_pairs:
                    ema_buffer.copy_(buffer)
        self.steps += 1
        self.last_losses = (d_loss.item(), g_loss.item())  # what a loop that logs its losses reads every step


def _timed(step: Callable[[], None], n: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``n`` calls of ``step``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    return time.perf_counter() - wall, time.process_time() - cpu


def _error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def measure(loops: dict[str, Any], steps: int, repeats: int, warmup: int, images_per_step: int) -> dict[str, Any]:
    """Warm each loop up, then ``repeats`` interleaved rounds of ``steps`` steps each; img/s per round.

    A loop that fails while warming up is left out (``{"error": ...}``) and the others are still timed. Besides
    wall-clock img/s, images per second of this process's CPU time: with one thread that measures the work a loop
    does and is far less disturbed by other processes than wall time (with more threads it also counts the
    threads' spin-waiting).
    """
    result: dict[str, Any] = {}
    for name, loop in loops.items():
        try:
            warm_s = _timed(loop.step, warmup)[0]
        except Exception as exc:  # e.g. a graph torch.compile cannot handle: report it, keep timing the other
            result[name] = {"error": _error(exc), "traceback": traceback.format_exc(limit=6)}
            print(f"  {name} loop failed: {result[name]['error']}", file=sys.stderr)
            continue
        result[name] = {"warmup_s": round(warm_s, 4), "img_per_s": [], "img_per_cpu_s": []}
    names = [name for name in loops if "error" not in result[name]]
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            wall, cpu = _timed(loops[name].step, steps)
            result[name]["img_per_s"].append(round(steps * images_per_step / wall, 2))
            result[name]["img_per_cpu_s"].append(round(steps * images_per_step / max(cpu, 1e-9), 2))
    for name in names:
        block = result[name]
        block["median_img_per_s"] = common.median(block["img_per_s"])
        block["median_img_per_cpu_s"] = common.median(block["img_per_cpu_s"])
        step_s = images_per_step / block["median_img_per_s"]
        # the first steps pay one-time costs (with --compile, compilation): what they took beyond ordinary steps
        block["warmup_overhead_s"] = round(max(0.0, block["warmup_s"] - warmup * step_s), 4)
    return result


def _layout(args: argparse.Namespace) -> str:
    return "contiguous" if args.contiguous else "engine"


def verify(registry: Registry, variant: str, size: int, args: argparse.Namespace, work: Path,
           steps: int = VERIFY_STEPS, batch: int = VERIFY_BATCH) -> float:
    """Largest difference between the two loops' G, D and EMA weights and buffers after ``steps`` steps from the
    same real batches and the same noise (eager, whatever ``--compile``; a small batch, as only the arithmetic is
    compared): 0.0 means the bare loop computes the engine's update bit for bit."""
    batch = min(batch, args.batch_size)
    engine = EngineLoop(registry, variant, size, args.channels, batch, not args.no_ema, False,
                        _layout(args), args.seed, work)
    bare = BareLoop(registry, registry.variant(variant), engine.images, batch, not args.no_ema, False,
                    engine.channels_last, args.seed)
    bare.batch_rows = engine.trainer.batches.indices  # the engine's batch order
    rng_state = torch.get_rng_state()
    for step in range(steps):
        for loop in (engine, bare):
            torch.manual_seed(args.seed + 1000 + step)
            loop.step()
    torch.set_rng_state(rng_state)
    t = engine.trainer
    pairs = [(t.G, bare.G), (t.D, bare.D)] + ([(t.ema.module, bare.G_ema)] if t.ema is not None else [])
    return max((a - b).abs().max().item() for x, y in pairs
               for a, b in zip(x.state_dict().values(), y.state_dict().values(), strict=True)
               if a.is_floating_point())


def profile(loops: dict[str, Any], steps: int, rows: int = 15) -> dict[str, str]:
    """torch.profiler tables (self CPU time) of ``steps`` steps of each loop, and under ``"call counts"`` the ops
    whose number of calls per step differs between the loops (deterministic, unlike the times on a busy machine)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    tables, counts = {}, {}
    for name, loop in loops.items():
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                loop.step()
        averages = prof.key_averages()
        tables[name] = averages.table(sort_by="self_cpu_time_total", row_limit=rows)
        counts[name] = {e.key: (e.count / steps, e.self_cpu_time_total / steps / 1e3) for e in averages}
    if len(counts) == 2:
        (a, ca), (b, cb) = counts.items()
        lines = [f"{'op':48s} {a + ' calls/step':>18s} {b + ' calls/step':>18s} {a + ' ms/step':>14s} "
                 f"{b + ' ms/step':>14s}"]
        for key in sorted(set(ca) | set(cb)):
            (na, ta), (nb, tb) = ca.get(key, (0, 0.0)), cb.get(key, (0, 0.0))
            if na != nb:
                lines.append(f"{key[:48]:48s} {na:18.1f} {nb:18.1f} {ta:14.3f} {tb:14.3f}")
        totals = {name: sum(n for n, _ in c.values()) for name, c in counts.items()}
        lines.append(f"all ops, calls/step: {a} {totals[a]:.0f}, {b} {totals[b]:.0f}")
        tables["call counts"] = "\n".join(lines)
    return tables


def image_variants(registry: Registry, asked: list[str] | None) -> list[str]:
    """``asked`` (checked), or every registered variant that trains on images."""
    names = asked or [n for n in registry.names("variant") if "image" in registry.variant(n).data_kinds]
    for name in names:
        try:
            spec = registry.variant(name)
        except ganzoo.GanzooError as exc:
            raise SystemExit(str(exc)) from None
        if "image" not in spec.data_kinds:
            raise SystemExit(f"variant {name!r} does not train on images")
    return names


def run_one(registry: Registry, variant: str, size: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Both loops for one (variant, image size); the row of the table."""
    spec = registry.variant(variant)
    n_critic = spec.defaults.n_critic
    row: dict[str, Any] = {
        "variant": variant, "image_size": size, "channels": args.channels, "batch_size": args.batch_size,
        "n_critic": n_critic, "loss": spec.loss, "regularisers": dict(spec.regularisers),
        "load_average_before": common.load_average(),
    }
    loops: dict[str, Any] = {}
    try:
        if args.verify:
            row["max_weight_difference_after_verify"] = verify(registry, variant, size, args,
                                                                work / f"{variant}-{size}-verify")
        engine = EngineLoop(registry, variant, size, args.channels, args.batch_size, not args.no_ema, args.compile,
                            _layout(args), args.seed, work / f"{variant}-{size}")
        loops["engine"] = engine
        loops["bare"] = BareLoop(registry, spec, engine.images, args.batch_size, not args.no_ema, args.compile,
                                 engine.channels_last, args.seed)
        row["ema"] = engine.has_ema
        row["channels_last"] = engine.channels_last
        row.update(measure(loops, args.steps, args.repeats, args.warmup, args.batch_size * n_critic))
        if args.profile:
            for name, text in profile({k: v for k, v in loops.items() if "error" not in row[k]}, args.steps).items():
                print(f"\n### {variant} {size}px, {name} ({args.steps} steps)\n\n{text}", file=sys.stderr)
    except Exception as exc:  # one variant failing must not lose the others' figures
        row["error"] = _error(exc)
        row["traceback"] = traceback.format_exc(limit=6)
        print(f"  {variant} {size}px failed: {row['error']}", file=sys.stderr)
        return row
    finally:
        loops.clear()
        gc.collect()
    engine, bare = row["engine"], row["bare"]
    if "error" not in engine and "error" not in bare:
        row["ratio_engine_over_bare"] = round(engine["median_img_per_s"] / bare["median_img_per_s"], 4)
        row["cpu_ratio_engine_over_bare"] = round(engine["median_img_per_cpu_s"] / bare["median_img_per_cpu_s"], 4)
        row["per_round_ratios"] = [round(e / b, 4) for e, b in zip(engine["img_per_s"], bare["img_per_s"],
                                                                   strict=True)]
    return row


def _cells(block: dict[str, Any] | None) -> tuple[str, str, str]:
    """(median img/s, range, warm-up s) of one loop's timings, or its error."""
    if block is None:
        return "", "", ""
    if "error" in block:
        return f"failed: {block['error'][:70]}", "", ""
    return (f"{block['median_img_per_s']:.0f}", f"{min(block['img_per_s']):.0f}-{max(block['img_per_s']):.0f}",
            f"{block['warmup_s']:.1f}")


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of all rows."""
    lines = ["| variant | px | n_critic | D extras | EMA | layout | same update | engine img/s | bare img/s "
             "| engine / bare | engine / bare (CPU time) | engine range | bare range | warm-up s (engine / bare) |",
             "|---|---:|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        extras = ", ".join(f"{name} {value:g}" for name, value in r.get("regularisers", {}).items())
        diff = r.get("max_weight_difference_after_verify")
        same = "" if diff is None else "bit-identical" if diff == 0 else f"max diff {diff:.1e}"
        ema = "" if "ema" not in r else "yes" if r["ema"] else "no"
        layout = "" if "channels_last" not in r else "channels-last" if r["channels_last"] else "contiguous"
        if "error" in r:
            engine, bare = (f"failed: {r['error'][:70]}", "", ""), ("", "", "")
        else:
            engine, bare = _cells(r.get("engine")), _cells(r.get("bare"))
        ratio = f"{r['ratio_engine_over_bare']:.3f}" if "ratio_engine_over_bare" in r else ""
        cpu_ratio = f"{r['cpu_ratio_engine_over_bare']:.3f}" if "cpu_ratio_engine_over_bare" in r else ""
        warm = f"{engine[2]} / {bare[2]}" if engine[2] or bare[2] else ""
        lines.append(f"| {r['variant']} | {r['image_size']} | {r['n_critic']} | {extras} | {ema} | {layout} | {same} "
                     f"| {engine[0]} | {bare[0]} | {ratio} | {cpu_ratio} | {engine[1]} | {bare[1]} | {warm} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="*", default=None, help="default: every registered image variant")
    p.add_argument("--sizes", nargs="*", type=int, default=None, help="image sizes (default 32 64), where supported")
    p.add_argument("--channels", type=int, default=1, help="image channels (1 as MNIST, 3 as CIFAR-10)")
    p.add_argument("--batch-size", type=int, default=None, help="default 64")
    p.add_argument("--steps", type=int, default=None, help="generator steps per timed round (default 5)")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per loop (default 5)")
    p.add_argument("--warmup", type=int, default=None, help="untimed generator steps per loop first (default 2)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--contiguous", action="store_true",
                   help="both loops in PyTorch's default layout instead of the engine's (channels-last on CPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile both networks in both loops")
    p.add_argument("--no-ema", action="store_true", help="no EMA generator in either loop")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip checking first that both loops compute the same weights from the same batches and noise")
    p.add_argument("--profile", action="store_true", help="also print torch.profiler tables of each loop")
    p.add_argument("--out", type=Path, default=None,
                   help="result JSON (default benchmarks/results/throughput.json; with --quick a temp dir)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 32 px, batch 16, 2 rounds of 1 step, output to a temp dir")
    args = p.parse_args(argv)
    defaults = {"sizes": [32, 64], "batch_size": 64, "steps": 5, "repeats": 5, "warmup": 2}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, QUICK[key] if args.quick else value)
    for key in ("steps", "repeats", "batch_size", "channels"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be positive")
    if args.warmup < 0:
        p.error("--warmup must not be negative")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    threads = common.set_threads(args.threads)
    load_start = common.load_average()
    if warning := common.load_warning():
        print(f"warning: {warning}", file=sys.stderr)
    registry = bench_registry(get_registry(), max(NUM_IMAGES, args.batch_size))
    variants = image_variants(registry, args.variants)
    out = args.out or (Path(tempfile.mkdtemp(prefix="ganzoo-throughput-")) / "throughput.json" if args.quick
                       else common.RESULTS / "throughput.json")
    rows, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="ganzoo-throughput-runs-") as work:
        for variant in variants:
            for size in args.sizes:
                if size not in registry.variant(variant).image_sizes:
                    skipped.append(f"{variant} {size}px (unsupported size)")
                    continue
                print(f"{variant} {size}px ...", file=sys.stderr, flush=True)
                rows.append(run_one(registry, variant, size, args, Path(work)))

    text = table(rows)
    print(text)
    result = {
        "command": common.command_line(__file__, argv), "date": common.timestamp(), "quick": args.quick,
        "settings": {"sizes": args.sizes, "channels": args.channels, "batch_size": args.batch_size,
                     "steps": args.steps, "repeats": args.repeats, "warmup": args.warmup, "threads": threads,
                     "contiguous": args.contiguous, "compile": args.compile, "ema": not args.no_ema,
                     "seed": args.seed, "device": "cpu", "num_images": max(NUM_IMAGES, args.batch_size),
                     "verify": {"enabled": args.verify, "steps": VERIFY_STEPS,
                                "batch_size": min(VERIFY_BATCH, args.batch_size)}},
        "rule": "img/s = batch * n_critic * steps / wall seconds; engine / bare = ratio of the medians over rounds; "
                "the CPU-time ratio uses images per second of process CPU time instead",
        "rows": rows, "skipped": skipped, "table_md": text,
        "machine": common.machine_info("cpu"),
        "load_average": {"start": load_start, "end": common.load_average()},
    }
    common.write_json(out, result)
    print(f"\nload average at start {load_start}, at end {result['load_average']['end']}; wrote {out}")
    return result


if __name__ == "__main__":
    main()
