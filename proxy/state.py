"""Everything a request handler needs, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from proxy.config import Config
from proxy.metrics import Metrics
from proxy.upstream import Upstream

if TYPE_CHECKING:
    from memory.selfmodel import SelfModel


@dataclass
class AppState:
    config: Config
    metrics: Metrics
    upstream: Upstream
    memory: SelfModel
    # Requests inside `proxy.pipeline.handle` now. One alone runs its memory steps on the
    # event loop, as there is nothing else for the loop to do; more share the worker threads.
    in_pipeline: int = 0

    @property
    def alone(self) -> bool:
        return self.in_pipeline <= 1
