"""Logging for `selfmodel serve`: one format for our records and uvicorn's, text or JSON lines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Set on a record (logging's `extra=`) to carry structured fields: JSON lines get them as keys.
FIELDS = "fields"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        item: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            item.update(fields)
        if record.exc_info:
            item["exc"] = self.formatException(record.exc_info)
        return json.dumps(item, ensure_ascii=False, default=str)


def configure(level: str, log_format: str) -> None:
    """A root handler on stderr; uvicorn's loggers propagate to it (uvicorn: log_config=None)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # httpx logs every request's full URL at info level: URLs carry user ids.
    # Alembic logs each of its plugins at info level when it loads; the ledger says in one
    # line of its own which revisions it applied.
    for name in ("httpx", "httpcore", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
