import pytest

from memory.selfmodel import SelfModel
from proxy.config import parse_config


@pytest.fixture
def runtime(tmp_path, embedder):
    """A self-model on a real SQLite store in a temp dir, with the real local embedder."""
    rt = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    yield rt
    rt.db.close()
