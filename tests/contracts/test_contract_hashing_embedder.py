import pytest
from embedder_contract import EmbedderContract

from knowledge_base.embedder import HashingEmbedder

pytestmark = pytest.mark.unit


class TestHashingEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self):
        return HashingEmbedder(dimensions=256)
