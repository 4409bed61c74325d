"""Keep litellm and tiktoken from reaching the network.

Must run before litellm is imported: litellm fetches its model-cost map at
import, and tiktoken downloads encodings on first use. Both honour settings we
only fill in when the user has not chosen otherwise.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _litellm_tokenizers_dir() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "litellm_core_utils" / "tokenizers"
    return path if path.is_dir() else None


def configure_offline() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        tokenizers = _litellm_tokenizers_dir()
        if tokenizers is not None:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(tokenizers)
