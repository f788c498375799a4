"""The docs stay in step with the code: every CLI option, every variant, every hook is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click

import ganzoo
from ganzoo import hookspecs
from ganzoo.cli import cli

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROOT = DOCS.parent


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/cli.md has no section '## {title}'"
    return match.group(1)


def test_every_cli_command_and_option_is_in_docs_cli():
    text = (DOCS / "cli.md").read_text()
    for name, command in cli.commands.items():
        section = _section(text, f"ganzoo {name}")
        for param in command.params:
            if isinstance(param, click.Option):
                for flag in param.opts:
                    assert flag in section, f"ganzoo {name} {flag} is missing from docs/cli.md"


def test_every_registered_variant_has_a_row_in_docs_variants():
    text = (DOCS / "variants.md").read_text()
    for name in ganzoo.list_variants():
        assert re.search(rf"^\|\s*`?{re.escape(name)}`?\s*\|", text, re.M), f"{name} missing from docs/variants.md"


def test_every_hook_is_documented_in_docs_plugins():
    text = (DOCS / "plugins.md").read_text()
    hooks = [n for n in dir(hookspecs) if n.startswith("ganzoo_register_")]
    assert hooks
    for hook in hooks:
        assert hook in text, f"{hook} is not documented in docs/plugins.md"


def test_readme_gives_the_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    assert "make bench" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_commands_name_their_runs_instead_of_globbing():
    """``ganzoo sample runs/dcgan-*/`` broke once two runs existed: a command a reader copies must name one path."""
    import shlex

    block = re.search(r"^## Use\n.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S | re.M).group(1)
    commands = [line.split("#", 1)[0] for line in block.splitlines() if "ganzoo" in line]
    assert commands
    for command in commands:
        assert not any(any(c in word for c in "*?[") for word in shlex.split(command)), command
