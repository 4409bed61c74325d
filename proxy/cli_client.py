"""How the client commands of `selfmodel` find their server, and how they print.

The target is resolved per call, first match wins:
  url: --url (before or after the subcommand) > $SELFMODEL_URL > the config's server.host/port
       > http://127.0.0.1:4141
  key: --key > $SELFMODEL_KEY > the config's first admin key (else its first key) > none
  config: --config > $SELFMODEL_CONFIG > ./config.yaml (if present); the same file `serve` reads.
Only the config's `server` and `auth` sections are read, so a client never needs the
provider keys a full load would resolve.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

DEFAULT_URL = "http://127.0.0.1:4141"
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    # Options given after the subcommand are parsed last, so they win over the group's.
    if value is not None and param.name:
        ctx.ensure_object(dict)[param.name] = value
    return value


def connection_options(function: F) -> F:
    """--url, --key and --config, accepted on the group and on every client command."""
    options = [
        click.option(
            "--url",
            default=None,
            expose_value=False,
            callback=_remember,
            help="Base URL of the proxy (env SELFMODEL_URL; default: the config's "
            "server.host/port, else http://127.0.0.1:4141).",
        ),
        click.option(
            "--key",
            default=None,
            expose_value=False,
            callback=_remember,
            help="API key for the proxy (env SELFMODEL_KEY; default: the config's admin key).",
        ),
        click.option(
            "--config",
            "config",
            default=None,
            expose_value=False,
            callback=_remember,
            help="config.yaml to find the server in (env SELFMODEL_CONFIG; default ./config.yaml).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@dataclass(frozen=True)
class Target:
    url: str
    key: str | None
    config: str | None  # the file the url or key came from, if any


def config_file(explicit: str | None) -> str | None:
    chosen = explicit or os.environ.get("SELFMODEL_CONFIG")
    if chosen is None and Path("config.yaml").is_file():
        chosen = "config.yaml"
    return chosen


def _read_server_and_key(path: str) -> tuple[str, str | None]:
    import yaml
    from pydantic import ValidationError

    from proxy.config import AuthConfig, ServerConfig, resolve_env

    file = Path(path)
    if not file.is_file():
        fail(f"config file not found: {file}")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        fail(f"config file {file} is not valid YAML: {exc}")
    if not isinstance(raw, dict):
        fail(f"config file {file}: the top level must be a mapping")
    try:
        server = ServerConfig.model_validate(resolve_env(raw.get("server") or {}, "server"))
        keys = resolve_env((raw.get("auth") or {}).get("keys") or [], "auth.keys", [])
        auth = AuthConfig.model_validate({"keys": [k for k in keys if k.get("key")]})
    except (ValidationError, AttributeError) as exc:
        fail(f"config file {file}: {exc}")
    host = "127.0.0.1" if server.host in _WILDCARD_HOSTS else server.host
    if ":" in host:
        host = f"[{host}]"
    admin = [k.key for k in auth.keys if k.admin] or [k.key for k in auth.keys]
    return f"http://{host}:{server.port}", admin[0] if admin else None


def target(ctx: click.Context) -> Target:
    given = ctx.ensure_object(dict)
    url = given.get("url") or os.environ.get("SELFMODEL_URL")
    key = given.get("key") or os.environ.get("SELFMODEL_KEY")
    path = config_file(given.get("config"))
    if path is not None and (url is None or key is None):
        config_url, config_key = _read_server_and_key(path)
        url = url or config_url
        key = key or config_key
    return Target(url or DEFAULT_URL, key, path)


class Api:
    def __init__(self, where: Target) -> None:
        import httpx

        self.where = where
        headers = {"Authorization": f"Bearer {where.key}"} if where.key else {}
        self.client = httpx.Client(base_url=where.url.rstrip("/"), headers=headers, timeout=60)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            origin = f" (from {self.where.config})" if self.where.config else ""
            fail(
                f"cannot reach the proxy at {self.client.base_url}{origin}: {exc} "
                "(start it with `selfmodel serve`, or pass --url / --config)"
            )
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            hint = ""
            if response.status_code == 401:
                hint = " (pass --key, set SELFMODEL_KEY, or --config with an auth key)"
            fail(f"{response.status_code}: {message}{hint}")
        return response.json()


def api(ctx: click.Context) -> Api:
    return Api(target(ctx))


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _cell(value: Any, width: int | None) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def table(
    rows: Sequence[Sequence[Any]], headers: Sequence[str], widths: Sequence[int | None] = ()
) -> str:
    """Aligned columns; a column with a width is cut to it (the last one is never padded)."""
    limits = list(widths) + [None] * (len(headers) - len(widths))
    cells = [[_cell(v, limits[i]) for i, v in enumerate(row)] for row in rows]
    sizes = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = [v.ljust(sizes[i]) for i, v in enumerate(values[:-1])] + [values[-1]]
        return "  ".join(padded).rstrip()

    return "\n".join([line(list(headers)), *(line(r) for r in cells)])
