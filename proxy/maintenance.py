"""Offline maintenance: rebuilding the vector index, and the checks before serving.

(`selfmodel doctor` lives in `proxy.doctor`.)
"""

from __future__ import annotations

from typing import Any

from memory.offline import configure_offline
from proxy.config import Config


def reindex(config: Config) -> dict[str, Any]:
    """Re-embed every active belief from SQLite and rebuild the Chroma index from scratch."""
    configure_offline()
    from memory.selfmodel import SelfModel

    return SelfModel.reindex(config.memory)


def preflight(config: Config) -> str | None:
    """What would stop the server from starting on this store, said before it binds."""
    from memory.selfmodel import SelfModel

    return SelfModel.index_problem(config.memory)
