"""One loader for every prompt and injection template in `prompts/`.

Templates are plain files a user can edit. An injection template named `NAME`
lives in `inject_NAME.j2`; the extraction prompt in `extract_*.j2`. A user
directory (`prompts_dir` in the config) is searched before the shipped one, so
overriding one file does not mean copying them all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

import prompts as _shipped

SHIPPED_DIR = Path(_shipped.__file__).parent
# The tag around the injected block (`<user_model>...</user_model>`): templates write it as
# `{{ tag }}`; rendering strips an echoed block by it and learning refuses text that forges it.
BLOCK_TAG = "user_model"
_INJECT_PREFIX = "inject_"
_SUFFIX = ".j2"


def as_data(value: object) -> str:
    """Render a value as an inert JSON string literal.

    Quoting keeps a belief from ending its line or the block it sits in, and
    angle brackets are escaped so no text can forge the block's closing tag.
    """
    text = json.dumps(str(value), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


@dataclass(frozen=True)
class Template:
    name: str
    source: str
    sha256: str
    compiled: jinja2.Template

    def render(self, **context: Any) -> str:
        return self.compiled.render(**context).strip()


class PromptLibrary:
    def __init__(self, user_dir: str | None = None) -> None:
        dirs = [Path(user_dir)] if user_dir else []
        dirs.append(SHIPPED_DIR)
        self._dirs = dirs
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["data"] = as_data
        self._env.globals["tag"] = BLOCK_TAG
        self._cache: dict[str, Template] = {}

    def _files(self) -> set[str]:
        return {p.name for d in self._dirs if d.is_dir() for p in d.glob(f"*{_SUFFIX}")}

    def template_names(self) -> list[str]:
        return sorted(
            f[len(_INJECT_PREFIX) : -len(_SUFFIX)]
            for f in self._files()
            if f.startswith(_INJECT_PREFIX)
        )

    def has_template(self, name: str) -> bool:
        return f"{_INJECT_PREFIX}{name}{_SUFFIX}" in self._files()

    def injection(self, name: str) -> Template:
        return self.load(f"{_INJECT_PREFIX}{name}{_SUFFIX}", name)

    def load(self, filename: str, name: str | None = None) -> Template:
        cached = self._cache.get(filename)
        if cached is not None:
            return cached
        try:
            source, _, _ = self._env.loader.get_source(self._env, filename)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            raise KeyError(f"no prompt file {filename!r} in {self._dirs}") from None
        template = Template(
            name=name or filename,
            source=source,
            sha256=hashlib.sha256(source.encode()).hexdigest(),
            compiled=self._env.from_string(source),
        )
        self._cache[filename] = template
        return template
