"""Where a ledger lives: a SQLite file (a path or `sqlite:///PATH`) or a PostgreSQL URL
(`postgresql://user:pass@host:5432/db`), in the forms each library wants."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.split("://", 1)[0] in _POSTGRES_SCHEMES


def sqlite_path(target: str | Path) -> Path:
    text = str(target)
    if text.startswith("sqlite:///"):
        return Path(text.removeprefix("sqlite:///"))
    if "://" in text:
        raise ValueError(
            f"store.database must be a postgresql:// or sqlite:/// URL, not {redact(text)!r}"
        )
    return Path(text)


def psycopg_url(target: str) -> str:
    """libpq's form: `postgresql://...` (SQLAlchemy's `+psycopg` driver tag removed)."""
    scheme, rest = target.split("://", 1)
    return f"postgresql://{rest}" if scheme in _POSTGRES_SCHEMES else target


def sqlalchemy_url(target: str | Path) -> str:
    if is_postgres(target):
        return "postgresql+psycopg://" + str(target).split("://", 1)[1]
    return f"sqlite:///{sqlite_path(target)}"


def redact(target: str | Path) -> str:
    """The URL without its password, for logs, errors and the banner."""
    text = str(target)
    if "://" not in text:
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def scrub(text: str, target: str | Path | None) -> str:
    """`text` (an error message) with the URL's password masked wherever it appears."""
    if not isinstance(target, str) or "://" not in target:
        return text
    password = urlsplit(target).password
    return text.replace(password, "***") if password else text
