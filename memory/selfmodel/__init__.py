"""The self-model's one facade: `SelfModel` (see `facade.py`; built in `assembled.py`)."""

from memory.index.sync import SYNC_AT_LATEST_SECONDS, SYNC_WHEN_IDLE_SECONDS
from memory.selfmodel.assembled import Prepared
from memory.selfmodel.facade import SelfModel

__all__ = ["SYNC_AT_LATEST_SECONDS", "SYNC_WHEN_IDLE_SECONDS", "Prepared", "SelfModel"]
