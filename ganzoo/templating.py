"""The Jinja2 templates and static files shipped in ``ganzoo/templates``: the bench report and the lab page."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup


def inline_code(text: str) -> Markup:
    """``text`` escaped, with Markdown's `code spans` as ``<code>`` elements."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: nothing is code
        return Markup.escape(text)
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else Markup.escape(p)
                           for i, p in enumerate(parts))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The environment every page is rendered with: HTML autoescaping on, undefined names an error."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("ganzoo", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["code"] = inline_code
    return env


def asset(name: str) -> Markup:
    """A static file of ``ganzoo/templates`` (a script or a style sheet), to be inlined in a page as it is."""
    text = resources.files("ganzoo").joinpath("templates", name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"{name} would end its own <script> / <style> element")
    return Markup(text)  # noqa: S704 - a file shipped with ganzoo, not user input


def script_json(data: Any) -> Markup:
    """``data`` as JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S704


def render(template: str, **context: Any) -> str:
    """Render ``ganzoo/templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)
