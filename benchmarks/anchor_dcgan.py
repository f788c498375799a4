"""The anchor to beat: a plain hand-written DCGAN on MNIST 32x32, trained for a wall-clock budget, scored by ganzoo.

    # the recorded anchor: the same training time as a `ganzoo bench dcgan` run on the same quiet machine
    ganzoo bench dcgan --out bench-runs/dcgan-mnist-s0
    python benchmarks/anchor_dcgan.py --match-bench bench-runs/dcgan-mnist-s0/metrics.json
    python benchmarks/anchor_dcgan.py --seconds 600        # or a fixed budget
    python benchmarks/anchor_dcgan.py --quick              # smoke run (about a minute); writes to a temp dir

Nothing of ganzoo's engine or plugins trains here: the networks, initialisation, optimizers and loop below are
written from the DCGAN paper in the style of pytorch/examples ``dcgan`` (ngf = ndf = 64, z = 100, batch norm,
ReLU in G, LeakyReLU(0.2) in D, weights from N(0, 0.02), Adam 2e-4 with betas (0.5, 0.999), binary cross-entropy
with the non-saturating G objective, batch 64, no EMA; one G forward per step, its output reused for the D and the
G step). Only the data (``ganzoo.data.load_dataset``) and the scoring come from ganzoo, and the scoring is exactly
``ganzoo bench``'s: the same sampling (eval mode, noise seed ``seed + 1``, uint8 quantisation), the same extractors,
the same cached test-split reference features and the same ``score(...)``. The budget counts the training loop
only (loading MNIST and building the networks are outside it; ``ganzoo bench``'s ``timings_s.training`` also
includes its setup, so a matched anchor gets slightly more loop time than ganzoo did).

Writes ``benchmarks/results/anchor_dcgan.json`` (read by ``ganzoo.report.find_anchor``: keys ``dataset``,
``num_samples``, ``inception_fid``, ``train_seconds``) and its sample grid next to it, named after it
(``anchor_dcgan_samples.png``; ``--out x/anchor_s1.json`` writes ``x/anchor_s1_samples.png``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
import torch
from torch import nn

from ganzoo.bench import DEFAULT_IMAGE_SAMPLES
from ganzoo.bench_sampling import draw_samples, image_batches
from ganzoo.data import load_dataset
from ganzoo.engine.device import select_device
from ganzoo.errors import GanzooError
from ganzoo.metrics.pipeline import extract, score
from ganzoo.metrics.reference import reference_features
from ganzoo.plots import save_grid
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry

DATASET, IMAGE_SIZE, CHANNELS = "mnist", 32, 1
Z_DIM, NGF, NDF, BATCH = 100, 64, 64, 64
LR, BETAS = 2e-4, (0.5, 0.999)
QUICK_SECONDS, QUICK_SAMPLES = 5.0, 160  # 160 > 128: the mnist-classifier FID is computed


class Generator(nn.Module):
    """z (B, 100) -> (B, 1, 32, 32) in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.z_dim = Z_DIM  # read by ganzoo.bench_sampling.draw_samples
        self.main = nn.Sequential(
            nn.ConvTranspose2d(Z_DIM, NGF * 4, 4, 1, 0, bias=False),  # (B, 256, 4, 4)
            nn.BatchNorm2d(NGF * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False),  # (B, 128, 8, 8)
            nn.BatchNorm2d(NGF * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),  # (B, 64, 16, 16)
            nn.BatchNorm2d(NGF),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF, CHANNELS, 4, 2, 1, bias=False),  # (B, 1, 32, 32)
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z[:, :, None, None])


class Discriminator(nn.Module):
    """(B, 1, 32, 32) -> one logit per image, (B,)."""

    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(CHANNELS, NDF, 4, 2, 1, bias=False),  # (B, 64, 16, 16); no batch norm on the input layer
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False),  # (B, 128, 8, 8)
            nn.BatchNorm2d(NDF * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False),  # (B, 256, 4, 4)
            nn.BatchNorm2d(NDF * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 4, 1, 4, 1, 0, bias=False),  # (B, 1, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)


def init_weights(module: nn.Module) -> None:
    """Convolutions from N(0, 0.02); batch-norm scales from N(1, 0.02), shifts 0 (the DCGAN paper's recipe)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def train(images: torch.Tensor, seconds: float, seed: int, device: torch.device,
          log_every: int = 200) -> tuple[Generator, dict[str, Any]]:
    """Train on uint8 ``images`` (N, 1, 32, 32) until ``seconds`` of loop time have passed; returns G and a record."""
    torch.manual_seed(seed)
    G, D = Generator().to(device), Discriminator().to(device)
    G.apply(init_weights)
    D.apply(init_weights)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    bce = nn.BCEWithLogitsLoss()  # sigmoid + binary cross-entropy in one numerically stable op
    ones = torch.ones(BATCH, device=device)
    zeros = torch.zeros(BATCH, device=device)
    order = torch.Generator().manual_seed(seed)
    per_epoch = len(images) // BATCH  # the last incomplete batch of an epoch is dropped

    steps, epoch, losses = 0, 0, []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if steps % per_epoch == 0:
            perm, epoch = torch.randperm(len(images), generator=order), epoch + 1
        rows = perm[(steps % per_epoch) * BATCH:(steps % per_epoch + 1) * BATCH]
        real = images[rows].to(device).float().div_(127.5).sub_(1.0)
        fake = G(torch.randn(BATCH, Z_DIM, device=device))

        # D step: maximise log D(x) + log(1 - D(G(z)))
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        # G step, non-saturating: maximise log D(G(z)) on the same fake batch; D's weights need no gradient
        D.requires_grad_(False)
        g_loss = bce(D(fake), ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)

        steps += 1
        losses.append((d_loss.item(), g_loss.item()))
        if log_every and steps % log_every == 0:
            print(f"step {steps:6d}  {time.perf_counter() - started:7.1f} s  d_loss {losses[-1][0]:.3f}  "
                  f"g_loss {losses[-1][1]:.3f}", file=sys.stderr, flush=True)
    train_seconds = time.perf_counter() - started
    tail = losses[-100:] or [(float("nan"), float("nan"))]
    record = {
        "steps": steps, "epochs_started": epoch, "train_seconds": round(train_seconds, 3),
        "images_per_s": round(steps * BATCH / train_seconds, 2),
        "final_d_loss_mean100": sum(d for d, _ in tail) / len(tail),
        "final_g_loss_mean100": sum(g for _, g in tail) / len(tail),
    }
    return G, record


def extractor_names(registry: Registry, asked: list[str] | None) -> list[str]:
    """The extractors ``ganzoo bench`` uses for MNIST (every one not restricted to other datasets), or ``asked``."""
    if asked:
        for name in asked:
            registry.extractor(name)
        return list(asked)
    names = registry.names("extractor")
    return [n for n in names if not registry.extractor(n).datasets or DATASET in registry.extractor(n).datasets]


def score_samples(registry: Registry, fake: torch.Tensor, names: list[str], seed: int,
                  device: torch.device) -> dict[str, dict[str, Any]]:
    """Score uint8 samples exactly as ``ganzoo.bench.run_bench`` scores a run's final samples."""
    classes = registry.dataset(DATASET).num_classes
    scores = {}
    for name in names:
        print(f"scoring with {name} ...", file=sys.stderr, flush=True)
        try:
            extractor = registry.extractor(name).build(device=device)
        except GanzooError as exc:  # e.g. weights not installed: record why, keep the other extractors' scores
            print(f"warning: extractor {name} unavailable: {exc}", file=sys.stderr)
            scores[name] = {"fid": None, "error": str(exc)}
            continue
        test = reference_features(registry, DATASET, "test", name, len(fake), IMAGE_SIZE, CHANNELS, None, device,
                                  extractor=extractor)
        fake_set = extract(extractor, image_batches(fake), device=device)
        scores[name] = score(test, fake_set, num_classes=classes, seed=seed)
    return scores


def read_bench(path: Path) -> dict[str, Any]:
    """The training time, sample count and threads of a ``ganzoo bench`` run's metrics.json."""
    try:
        metrics = json.loads(Path(path).read_text())
        seconds = float(metrics["timings_s"]["training"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"--match-bench {path}: cannot read timings_s.training ({exc})") from exc
    config = metrics.get("train", {}).get("config", {})
    if metrics.get("dataset") != DATASET or config.get("image_size", IMAGE_SIZE) != IMAGE_SIZE:
        print(f"warning: {path} is a {metrics.get('dataset')} run at {config.get('image_size')} px; the anchor "
              f"trains on {DATASET} at {IMAGE_SIZE} px", file=sys.stderr)
    loop_seconds = _last_elapsed(Path(path).parent / "run" / "metrics.jsonl")  # where ganzoo bench trains
    if loop_seconds is not None and seconds < loop_seconds:
        raise SystemExit(f"--match-bench {path}: its timings_s.training ({seconds:.1f} s) is shorter than its own "
                         f"training loop ({loop_seconds:.1f} s): that bench reused or resumed a run; pass --seconds")
    return {"path": str(path), "training_seconds": seconds, "loop_seconds": loop_seconds,
            "num_samples": metrics.get("num_samples"), "steps": metrics.get("train", {}).get("steps"),
            "variant": metrics.get("variant"), "torch_threads": metrics.get("machine", {}).get("torch_threads"),
            "device": metrics.get("machine", {}).get("device")}


def _last_elapsed(path: Path) -> float | None:
    """``elapsed_s`` of the last record of a run's metrics.jsonl (None when unreadable)."""
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        return float(json.loads(lines[-1])["elapsed_s"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, default=None, help="training-loop budget (default 600)")
    budget.add_argument("--match-bench", type=Path, default=None, metavar="METRICS_JSON",
                        help="train as long as this ganzoo bench run did (timings_s.training); its sample count "
                             "and thread count become the defaults")
    p.add_argument("--num-samples", type=int, default=None,
                   help=f"generated images scored (default {DEFAULT_IMAGE_SAMPLES}, the ganzoo bench default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--device", default="auto", help="as ganzoo bench: auto, cpu, cuda, ...")
    p.add_argument("--extractors", nargs="*", default=None, help="default: those ganzoo bench uses for MNIST")
    p.add_argument("--out", type=Path, default=None,
                   help="result JSON (default benchmarks/results/anchor_dcgan.json; with --quick a temp dir)")
    p.add_argument("--log-every", type=int, default=200, help="print the losses every this many steps")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK_SECONDS:g} s of training, {QUICK_SAMPLES} samples, output to a temp dir")
    args = p.parse_args(argv)
    if args.num_samples is not None and args.num_samples < 1:
        p.error("--num-samples must be positive")
    if args.seconds is not None and args.seconds <= 0:
        p.error("--seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    bench = read_bench(args.match_bench) if args.match_bench else None
    threads = args.threads if args.threads is not None else (bench or {}).get("torch_threads")
    common.set_threads(threads)
    if args.quick:
        seconds, n = args.seconds or QUICK_SECONDS, args.num_samples or QUICK_SAMPLES
    else:
        seconds = bench["training_seconds"] if bench else (args.seconds or 600.0)
        n = args.num_samples or (bench or {}).get("num_samples") or DEFAULT_IMAGE_SAMPLES
    if bench and bench.get("num_samples") not in (None, n):
        print(f"warning: the bench scored {bench['num_samples']} samples and the anchor {n}: ganzoo's report "
              "compares an anchor only at the same sample count", file=sys.stderr)
    out = args.out or (Path(tempfile.mkdtemp(prefix="ganzoo-anchor-")) / "anchor_dcgan.json" if args.quick
                       else common.RESULTS / "anchor_dcgan.json")
    device = select_device(args.device)
    load_start = common.load_average()
    if warning := common.load_warning():
        print(f"warning: {warning}", file=sys.stderr)

    registry = get_registry()
    names = extractor_names(registry, args.extractors)
    t0 = time.perf_counter()
    data = load_dataset(registry, DATASET, split="train", image_size=IMAGE_SIZE, channels=CHANNELS)
    data_seconds = time.perf_counter() - t0
    print(f"training the anchor DCGAN for {seconds:.1f} s on {len(data)} MNIST images ({device}, "
          f"{torch.get_num_threads()} threads, load average {load_start})", file=sys.stderr, flush=True)
    G, record = train(data.data, seconds, args.seed, device, args.log_every)
    load_after_training = common.load_average()

    sample_seed = args.seed + 1  # as ganzoo bench: scoring noise differs from the training noise stream
    t0 = time.perf_counter()
    fake = draw_samples(G, n, sample_seed, device)
    grid = save_grid(fake[:64].float().div(127.5).sub(1), out.with_name(f"{out.stem}_samples.png"))
    scores = score_samples(registry, fake, names, args.seed, device)
    score_seconds = time.perf_counter() - t0

    result = {
        "dataset": DATASET, "image_size": IMAGE_SIZE, "num_samples": n, "seed": args.seed,
        "sample_seed": sample_seed, **record, "budget_seconds": round(seconds, 3),
        "inception_fid": scores.get("inception", {}).get("fid"),
        "mnist_fid": scores.get("mnist-classifier", {}).get("fid"),
        "scores": scores, "matched_bench": bench,
        "model": {"ngf": NGF, "ndf": NDF, "z_dim": Z_DIM, "batch_size": BATCH, "lr": LR, "betas": list(BETAS),
                  "loss": "BCE, non-saturating G", "ema": None, "sampled_in": "eval mode"},
        "timings_s": {"data": round(data_seconds, 3), "training": record["train_seconds"],
                      "sampling_and_scoring": round(score_seconds, 3)},
        "samples_png": grid.name, "quick": args.quick,
        "command": common.command_line(__file__, argv), "date": common.timestamp(),
        "machine": common.machine_info(device),
        "load_average": {"start": load_start, "after_training": load_after_training, "end": common.load_average()},
    }
    common.write_json(out, result)
    fids = ", ".join(f"{k} FID {v['fid']:.2f}" if v.get("fid") is not None
                     else f"{k} FID n/a ({v.get('error') or v.get('skipped', {}).get('fid')})"
                     for k, v in scores.items())
    print(f"anchor: {record['steps']} steps in {record['train_seconds']:.1f} s ({record['images_per_s']:.0f} img/s), "
          f"N={n}: {fids}")
    print(f"load average at start {load_start}, at end {result['load_average']['end']}")
    print(f"wrote {out} and {grid}")
    return result


if __name__ == "__main__":
    main()
