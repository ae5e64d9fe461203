"""All generated text comes from Jinja2 templates in templates/."""

from __future__ import annotations

from functools import cache

import jinja2

from tinyc import __version__, paths


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(paths.templates_dir())),
        undefined=jinja2.StrictUndefined,  # a missing value is a bug, never an empty string
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["hex"] = lambda v, width=8: f"0x{v:0{width}X}"
    env.globals["tinyc_version"] = __version__
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
