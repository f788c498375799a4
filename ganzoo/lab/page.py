"""The lab page: one self-contained HTML file (script, styles and data inline, no network) for one recording, several
side by side, or a live session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo import __version__
from ganzoo.engine.checkpoint import atomic_write
from ganzoo.lab.recording import Recording
from ganzoo.templating import asset, render, script_json

# how the dataset's scores are charted; a score not named here gets a chart of its own
_LOSSES = {"title": "losses (mean since the previous frame)", "series": [
    {"key": "d_loss", "label": "D", "colour": "#0072b2"}, {"key": "g_loss", "label": "G", "colour": "#d55e00"}]}
_SCORE_CHARTS = [
    {"title": "modes covered", "max_key": "num_modes", "min": 0, "series": [
        {"key": "modes_covered", "label": "1 good sample", "colour": "#1b7837"},
        {"key": "modes_covered_strict", "label": "10% of a fair share", "colour": "#762a83", "dash": True}]},
    {"title": "high-quality share", "min": 0, "max": 1, "series": [
        {"key": "high_quality", "label": "within 3 std", "colour": "#0072b2"}]},
    {"title": "KL to uniform over modes", "min": 0, "series": [
        {"key": "kl_uniform", "label": "KL", "colour": "#e66100"}]},
]


def charts(recording: Recording) -> list[dict[str, Any]]:
    """The charts of a recording: losses, then the scores its dataset's ``evaluate`` gives."""
    keys = {key for frame in recording.frames for key in frame.values} - {"d_loss", "g_loss"}
    out = [_LOSSES]
    for chart in _SCORE_CHARTS:
        series = [s for s in chart["series"] if s["key"] in keys]
        if series:
            out.append({**chart, "series": series})
    charted = {s["key"] for c in out for s in c["series"]} | {c.get("max_key") for c in out}
    out += [{"title": key.replace("_", " "), "series": [{"key": key, "label": key, "colour": "#0072b2"}]}
            for key in sorted(keys - charted)]
    return out


def page_data(recordings: list[Recording], live: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the page's script reads: the recordings with their charts, and the live session's state if any."""
    return {"recordings": [{**r.as_json(), "charts": charts(r)} for r in recordings], "live": live,
            "version": __version__}


def render_page(recordings: list[Recording], title: str | None = None, live: dict[str, Any] | None = None) -> str:
    """The HTML of the lab page for ``recordings`` (side by side when several)."""
    if not recordings:
        raise ValueError("a lab page needs at least one recording")
    title = title or " vs ".join(r.header["title"] for r in recordings)
    return render("lab.html", title=title, script=asset("lab.js"), style=asset("lab.css"),
                  data=script_json(page_data(recordings, live)), live=live)


def write_page(path: str | Path, recordings: list[Recording], title: str | None = None) -> Path:
    """Write the lab page atomically to ``path``; returns the path."""
    path = Path(path)
    text = render_page(recordings, title)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path
