"""The report folder of a benchmark: which existing folder a benchmark may write into.

A benchmark writes ``metrics.json``, ``report.md`` / ``.html`` and pictures with fixed names. It may write into an
empty or new folder, or into its own earlier report: the same run rescored, or (when it trains) the folder holding
the run it trained, which it reuses or resumes. Any other folder holds files it would overwrite, so it is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from ganzoo.errors import ConfigError


def check_report_folder(out: Path, scored_run: Path | None) -> None:
    """Raise :class:`ConfigError` unless ``out`` may receive this benchmark's report.

    ``scored_run`` is the run directory (or weights folder) being scored, None when the benchmark trains its own
    run in ``out/run``.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    if scored_run is not None and out.resolve() == scored_run.resolve():
        raise ConfigError(f"--out {out} is the run being scored; the report goes in a folder of its own")
    held = sorted(p.name for p in out.iterdir())
    if not held:
        return
    if scored_run is None and (out / "run" / "config.json").is_file():
        return  # a benchmark that trained here: its run is reused or resumed (or refused if configured otherwise)
    if scored_run is not None and _report_of(out) == scored_run.resolve():
        return
    what = "the run being scored" if scored_run is not None else "a benchmark"
    raise ConfigError(f"--out {out} already holds files (such as {held[0]}) and is not a report of {what}; "
                      "choose a new or empty folder")


def _report_of(out: Path) -> Path | None:
    """The run an earlier report in ``out`` scored, from its metrics.json (None if there is no readable one)."""
    try:
        run = json.loads((out / "metrics.json").read_text(encoding="utf-8")).get("run")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(run).resolve() if isinstance(run, str) else None
