"""``ganzoo list``, ``info`` and ``plugins``: what the registry holds and where it came from."""

from __future__ import annotations

import json
import warnings

import click

from ganzoo.cli.common import load_registry
from ganzoo.cli.completion import variant_completer


def _variant_row(registry, name: str) -> dict:
    entry = registry.entry("variant", name)
    spec = entry.spec
    weights = [registry.get("pretrained", key) for key in registry.names("pretrained", f"{name}/*")]
    return {"name": spec.name, "summary": spec.summary, "loss": spec.loss, "n_critic": spec.defaults.n_critic,
            "image_sizes": list(spec.image_sizes), "channels": list(spec.channels),
            "data": list(spec.data_kinds), "paper": spec.paper, "plugin": entry.plugin,
            "conditional": spec.conditional,
            "pretrained": [{"name": w.weights, "source": w.source, "summary": w.summary, "scores": dict(w.scores)}
                           for w in weights]}


@click.command("list")
@click.argument("pattern", default="*")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(pattern: str, as_json: bool) -> None:
    """List registered variants (optionally matching a glob PATTERN such as 'wgan*')."""
    registry = load_registry()
    rows = [_variant_row(registry, n) for n in registry.names("variant", pattern)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:  # an empty answer, not an error (docs/cli.md): a note on stderr, nothing on stdout, exit 0
        lower = pattern.lower()  # variant names are lowercase by contract
        hint = f"; did you mean {lower!r}?" if lower != pattern and registry.names("variant", lower) else ""
        click.echo(f"no variant matches {pattern!r}{hint}", err=True)
        return
    table = [("NAME", "SUMMARY", "LOSS", "SIZES", "WEIGHTS", "PLUGIN")] + [
        (r["name"], r["summary"], r["loss"], ",".join(map(str, r["image_sizes"])),
         ",".join(w["name"] for w in r["pretrained"]) or "-", r["plugin"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@click.command()
@click.argument("name", shell_complete=variant_completer())
def info(name: str) -> None:
    """Show everything about variant NAME: paper, loss, defaults, supported shapes, parameter counts."""
    from ganzoo.models import build, data_shape_for, default_classes, network_option_defaults

    registry = load_registry()
    entry = registry.entry("variant", name)
    spec = entry.spec
    d = spec.defaults
    shape = data_shape_for(spec, d.image_size, spec.channels[0]) if "image" in spec.data_kinds else (2,)
    g, disc = build(spec, shape, num_classes=default_classes(spec, registry),
                    **(d.network if len(shape) == 3 else {}))
    networks = ", ".join(f"{k}={v}" for k, v in d.network.items()) or "the network builders' own defaults"
    options = network_option_defaults(spec)
    settable = ("any (its builders take **kwargs)" if options is None
                else ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(options.items())) or "none")
    lines = [
        f"{spec.name}: {spec.summary}",
        f"  paper:          {spec.paper or '-'}",
        f"  plugin:         {entry.plugin}",
        f"  loss:           {spec.loss}",
        f"  data:           {', '.join(spec.data_kinds)}; image sizes {', '.join(map(str, spec.image_sizes))}; "
        f"channels {', '.join(map(str, spec.channels))}",
        f"  n_critic:       {d.n_critic}",
        f"  G optimizer:    {d.g_optimizer.name} lr={d.g_optimizer.lr} betas={d.g_optimizer.betas}",
        f"  D optimizer:    {d.d_optimizer.name} lr={d.d_optimizer.lr} betas={d.d_optimizer.betas}",
        f"  defaults:       steps={d.steps}{f' (points: {d.point_steps})' if d.point_steps else ''} "
        f"batch_size={d.batch_size} z_dim={d.z_dim} "
        f"image_size={d.image_size} dataset={d.dataset} ema_decay={d.ema_decay}"
        f"{f' lr_decay={d.lr_decay:g}' if d.lr_decay else ''}",
        f"  regularisers:   {', '.join(f'{k}={v:g}' for k, v in spec.regularisers.items()) or '-'}",
        f"  networks:       {networks}{'; class-conditional' if spec.conditional else ''}",
        f"  --net options:  {settable}",
        f"  parameters:     G {sum(p.numel() for p in g.parameters()):,}, "
        f"D {sum(p.numel() for p in disc.parameters()):,} (at {'x'.join(map(str, shape))})",
    ]
    for weights in _variant_row(registry, name)["pretrained"]:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in weights["scores"].items())
        lines.append(f"  pretrained:     {weights['name']}: {weights['summary']}{'; ' + scores if scores else ''} "
                     f"(ganzoo sample {name} --pretrained {weights['name']})")
    click.echo("\n".join(lines))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def plugins(as_json: bool) -> None:
    """List discovered plugins: distribution, version, what each registered, and load errors."""
    from ganzoo.plugins import PluginLoadWarning, get_plugins

    with warnings.catch_warnings():  # a broken or clashing plugin is what this command is for: show, don't fail
        warnings.simplefilter("ignore", PluginLoadWarning)
        get_plugins().build_registry(strict=False)
    infos = list(get_plugins().infos.values())
    if as_json:
        click.echo(json.dumps([{**i.__dict__, "builtin": i.builtin} for i in infos], indent=2))
        return
    for info_ in infos:
        origin = f"{info_.distribution} {info_.version}".strip() or "?"
        click.echo(f"{info_.name} ({info_.module}, {origin})")
        if info_.error:
            click.echo(f"    FAILED: {info_.error}")
        for kind, names in sorted(info_.registered.items()):
            click.echo(f"    {kind}: {', '.join(names)}")
