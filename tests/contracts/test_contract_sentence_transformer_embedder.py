import pytest
from embedder_contract import EmbedderContract

from knowledge_base.embedder import SentenceTransformerEmbedder
from knowledge_base.settings import PACKAGED_MODEL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def packaged_embedder():
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, batch_size=16)
    embedder.load()
    return embedder


class TestSentenceTransformerEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self, packaged_embedder):
        return packaged_embedder

    def test_packaged_model_has_384_dimensions(self, embedder):
        assert embedder.dimensions == 384
        assert embedder.name == PACKAGED_MODEL
