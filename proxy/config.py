"""Loading and validating `config.yaml` into one pydantic schema.

Secrets come from the environment: any string value written `os.environ/NAME` or
containing `${NAME}` is resolved at load time. An invalid file raises
`ConfigError`, whose message names each bad key path and what was expected.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from memory.prompts import PromptLibrary
from memory.settings import MemoryConfig, Strict
from proxy.errors import ConfigError

__all__ = ["Config", "ConfigError", "default_config_data", "load_config", "parse_config"]

log = logging.getLogger("selfmodel.config")

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OS_ENVIRON = "os.environ/"
DEFAULT_CONFIG_NAME = "config.yaml"


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=4141, ge=0, le=65535)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    upstream_timeout_seconds: float = Field(default=600.0, gt=0)
    # `openai/...` models are forwarded as sent, without litellm (faster, byte-faithful).
    direct_openai: bool = True
    log_level: str = "info"
    # text: one readable line per record; json: one JSON object per line (for log shippers).
    log_format: Literal["text", "json"] = "text"
    # One line per request (request id, tenant, user hash, model, status, latency split).
    access_log: bool = True
    # Debugging only: put raw user ids in the access log instead of their hash.
    log_user_ids: bool = False
    # /metrics answers only with an admin key (its counts cover every tenant).
    metrics_require_key: bool = False


class TracingConfig(Strict):
    """OpenTelemetry traces, off unless an OTLP endpoint is set."""

    otlp_endpoint: str | None = None  # e.g. http://127.0.0.1:4318/v1/traces (OTLP over HTTP)
    headers: dict[str, str] = Field(default_factory=dict)
    service_name: str = "selfmodel"
    # Debugging only: add message and reply text to the upstream span.
    capture_content: bool = False


class AuthKey(Strict):
    key: str = Field(min_length=8)
    tenant: str = Field(default="default", min_length=1, max_length=128)
    admin: bool = False
    name: str | None = None


class AuthConfig(Strict):
    keys: list[AuthKey] = Field(default_factory=list)
    # Without keys, `serve` binds only a loopback address unless this (or the
    # --allow-unauthenticated flag) says serving everyone's self-model to anyone is intended.
    allow_unauthenticated: bool = False


class LiteLLMParams(BaseModel):
    # litellm accepts many provider-specific parameters: pass them all through.
    model_config = ConfigDict(extra="allow")
    model: str


class ModelEntry(Strict):
    model_name: str = Field(min_length=1)
    litellm_params: LiteLLMParams
    model_info: dict[str, Any] = Field(default_factory=dict)
    forward_client_key: bool = False

    @field_validator("model_name")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("model_name must not be blank")
        return value


class Config(MemoryConfig):
    server: ServerConfig = Field(default_factory=ServerConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    model_list: list[ModelEntry] = Field(default_factory=list)
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    # The file this config was read from (None: the embedded defaults or a parsed mapping).
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        return self._source

    @property
    def memory(self) -> MemoryConfig:
        return MemoryConfig.model_validate(
            {name: getattr(self, name) for name in MemoryConfig.model_fields}
        )


def resolve_env(value: Any, path: str = "", missing: list[str] | None = None) -> Any:
    """Replace environment references in every string of a parsed YAML tree."""
    missing = [] if missing is None else missing
    if isinstance(value, dict):
        return {
            k: resolve_env(v, f"{path}.{k}" if path else str(k), missing) for k, v in value.items()
        }
    if isinstance(value, list):
        return [resolve_env(v, f"{path}.{i}", missing) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    if value.startswith(_OS_ENVIRON):
        name = value[len(_OS_ENVIRON) :]
        if name not in os.environ:
            missing.append(f"{path} (environment variable {name} is not set)")
            return None
        return os.environ[name]

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            missing.append(f"{path} (environment variable {name} is not set)")
            return ""
        return os.environ[name]

    return _ENV_REF.sub(substitute, value)


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "invalid config:\n" + "\n".join(lines)


def parse_config(raw: dict[str, Any] | None) -> Config:
    """Validate an already parsed YAML mapping."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("invalid config: the top level must be a mapping")
    missing: list[str] = []
    resolved = resolve_env(raw, missing=missing)
    for key in resolved.get("auth", {}).get("keys", []) or []:
        if isinstance(key, dict) and key.get("key") is None:
            raise ConfigError(
                "invalid config: auth.keys: a key refers to an unset environment variable: "
                + "; ".join(m for m in missing if m.startswith("auth"))
            )
    for item in missing:
        log.warning("config: %s; the value is left empty", item)
    try:
        config = Config.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None
    _check_templates(config)
    return config


def _check_templates(config: Config) -> None:
    library = PromptLibrary(config.prompts_dir)
    for index, rule in enumerate(config.injection.rules):
        if not library.has_template(rule.template):
            raise ConfigError(
                f"invalid config:\n  injection.rules.{index}.template: unknown template "
                f"{rule.template!r} (available: {library.template_names()})"
            )


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the config: an explicit path, else $SELFMODEL_CONFIG, else ./config.yaml,
    else the embedded defaults."""
    chosen = path or os.environ.get("SELFMODEL_CONFIG")
    if chosen is None and Path(DEFAULT_CONFIG_NAME).is_file():
        chosen = DEFAULT_CONFIG_NAME
    if chosen is None:
        return parse_config(default_config_data())
    file = Path(chosen)
    if not file.is_file():
        raise ConfigError(f"config file not found: {file}")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {file} is not valid YAML: {exc}") from None
    config = parse_config(raw)
    config._source = os.path.abspath(file)
    return config


def default_config_data() -> dict[str, Any]:
    """The embedded defaults: the `config.yaml` shipped with the package."""
    shipped = Path(__file__).with_name("default_config.yaml")
    return yaml.safe_load(shipped.read_text(encoding="utf-8")) or {}
