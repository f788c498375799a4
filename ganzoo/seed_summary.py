"""Several seeds of one variant side by side: each score's mean and standard deviation, and their overlay."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from ganzoo.bench import BenchResult
from ganzoo.engine.checkpoint import atomic_write
from ganzoo.report import departures_text, write_comparison


@dataclass
class SeedSummary:
    """Mean and standard deviation of one variant's benchmarks over several seeds."""

    variant: str
    seeds: list[int]
    table: dict[str, dict[str, float | None]]  # "extractor metric" -> {"mean", "sd", "min", "max"}
    path: Path

    @property
    def headline(self) -> str:
        fids = [f"{key} {v['mean']:.2f} ± {v['sd']:.2f}" for key, v in self.table.items()
                if key.endswith(" fid") and v["mean"] is not None]
        return "; ".join(fids) or "no FID"


_SUMMARISED = ("fid", "kid_mean", "precision", "recall", "is_mean", "modes_covered", "mode_kl")


def summarize_seeds(results: list[BenchResult], out: Path) -> SeedSummary:
    """``seeds.md`` / ``seeds.json`` in ``out``: each score's mean ± sample standard deviation over the seeds (and
    training time), plus the quality-per-minute overlay of the runs."""
    out.mkdir(parents=True, exist_ok=True)
    first = results[0].metrics
    columns: dict[str, list[float]] = {}
    for result in results:
        for extractor, block in result.metrics.get("scores", {}).items():
            for key in _SUMMARISED:
                value = block["final"].get(key)
                if isinstance(value, (int, float)):
                    columns.setdefault(f"{extractor} {key}", []).append(float(value))
        for key, value in result.metrics.get("toy", {}).get("final", {}).items():
            if isinstance(value, (int, float)):
                columns.setdefault(f"toy {key}", []).append(float(value))
        columns.setdefault("training s", []).append(float(result.metrics["train"].get("train_s") or 0.0))
    table = {key: {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                   "min": min(values), "max": max(values), "values": values}
             for key, values in columns.items() if len(values) == len(results)}
    seeds = [r.metrics["seed"] for r in results]
    summary = SeedSummary(first["variant"], seeds, table, out / "seeds.md")
    lines = [f"# {summary.variant} on {first['dataset']}: {len(seeds)} seeds ({', '.join(map(str, seeds))})", "",
             f"N = {first['num_samples']} generated samples against the test split per seed; sd is the sample "
             "standard deviation over seeds" + departures_text(first["train"].get("departures"),
                                                                ". Not the variant defaults: ") + ".", "",
             "| score | mean ± sd | min | max | per seed |", "|---|---:|---:|---:|---|"]
    for key, v in table.items():
        lines.append(f"| {key} | {v['mean']:.4g} ± {v['sd']:.2g} | {v['min']:.4g} | {v['max']:.4g} | "
                     f"{', '.join(f'{x:.4g}' for x in v['values'])} |")
    lines += ["", "Reports: " + ", ".join(f"`{r.report_md}`" for r in results), ""]
    write_comparison(results, out)
    if (out / "quality_per_minute.png").exists():
        lines += ["![quality per minute](quality_per_minute.png)", ""]
    atomic_write(out / "seeds.md", lambda tmp: Path(tmp).write_text("\n".join(lines)))
    atomic_write(out / "seeds.json", lambda tmp: Path(tmp).write_text(json.dumps(
        {"variant": summary.variant, "seeds": seeds, "num_samples": first["num_samples"], "scores": table,
         "reports": [str(r.report_md) for r in results]}, indent=2)))
    return summary
