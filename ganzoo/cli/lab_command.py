"""``ganzoo lab``: 2-D training recorded into one page, or served live."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ganzoo.cli.common import SEED, load_registry
from ganzoo.cli.completion import variant_completer
from ganzoo.errors import GanzooError


@click.command()
@click.argument("variants", nargs=-1, required=True, metavar="VARIANT...", shell_complete=variant_completer("points"))
@click.option("--dataset", default="ring8", show_default=True,
              help="A 2-D point dataset: ring8, grid25, line, two-gaussians, ring, spiral, two-moons, or a plugin's.")
@click.option("--steps", type=int, help="Generator steps (default: the variant's). With --serve: pause there once.")
@click.option("--every", type=int, help="A frame every K steps (default: about 200 frames; 10 with --serve).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--batch-size", type=int)
@click.option("--z-dim", type=int, help="Noise dimensions (2 shows the whole manifold; more: a 2-D slice).")
@click.option("--n-critic", type=int, help="Discriminator steps per generator step.")
@click.option("--loss", help="Override the variant's loss (see `ganzoo plugins`).")
@click.option("--lr-g", type=float)
@click.option("--lr-d", type=float)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default="lab.html", show_default=True,
              help="The page to write (with --serve: what the page's Save button and Ctrl-C write).")
@click.option("--serve", is_flag=True, help="Train live, watched and steered from the browser.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; anything but loopback lets others on the network control it.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0: any free port.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def lab(variants, dataset, steps, every, seed, batch_size, z_dim, n_critic, loss, lr_g, lr_d, device, out, serve,
        host, port, quiet) -> None:
    """Watch VARIANT learn 2-D points, GAN Lab style (several: side by side).

    Trains with the real engine and writes one self-contained page (--out) with a frame every --every steps; with
    --serve, trains live at http://127.0.0.1:PORT, steered from the page instead.
    """
    from ganzoo.engine import TrainConfig, resolve

    if not out.lower().endswith((".html", ".htm")):
        raise click.BadParameter(f"{out!r} must end in .html", param_hint="--out")
    if every is not None and every < 1:
        raise click.BadParameter(f"{every} is not a positive integer", param_hint="--every")
    from ganzoo.engine.checkpoint import check_writable

    check_writable(out, "--out")  # before the training whose page it would hold
    if serve and len(variants) > 1:
        raise click.UsageError("--serve trains one variant; name one")
    registry = load_registry()
    configs = [TrainConfig(variant=v, dataset=dataset, steps=steps, batch_size=batch_size, z_dim=z_dim,
                           n_critic=n_critic, loss=loss, lr_g=lr_g, lr_d=lr_d, seed=seed, device=device)
               for v in variants]
    if serve:
        _serve_lab(configs[0], registry, every, steps, Path(out), host, port)
        return
    from tqdm import tqdm

    from ganzoo.lab import record, write_page

    recordings = []
    started = time.perf_counter()
    for config in configs:
        bars: list = []  # opened at the first frame, once the options have been checked

        def on_frame(frame, bars=bars, config=config) -> None:
            if not bars:
                total = resolve(config, registry).steps
                bars.append(tqdm(total=total, desc=f"{config.variant} on {dataset}", unit="step", disable=quiet,
                                 dynamic_ncols=True, leave=False))
            bars[0].update(frame.step - bars[0].n)

        try:
            recordings.append(record(config, every, registry, on_frame=on_frame))
        finally:
            for bar in bars:
                bar.close()
    path = write_page(out, recordings)
    frames = sum(len(r.frames) for r in recordings)
    click.echo(f"wrote {path}: {frames} frames of {', '.join(variants)} on {dataset}, "
               f"{path.stat().st_size / 1e6:.1f} MB, in {time.perf_counter() - started:.0f} s")


def _serve_lab(config, registry, every: int | None, steps: int | None, out: Path, host: str, port: int) -> None:
    from ganzoo.lab.server import LOOPBACK, LabServer
    from ganzoo.lab.session import LiveSession

    if host not in LOOPBACK:
        click.echo(f"warning: --host {host} lets anyone who can reach this machine watch and steer the training",
                   err=True)
    session = LiveSession(config, registry, every=every or 10, stop_at=steps)
    try:
        server = LabServer(session, host, port, out)
    except OSError as exc:
        session.close()
        raise GanzooError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; try another --port") from None
    click.echo(f"ganzoo lab: {config.variant} on {config.dataset} at {server.url} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        session.close()
    path = session.save(out)
    click.echo(f"stopped at step {session.trainer.step}; wrote {path} ({len(session.recorder.recording.frames)} "
               "frames)")
