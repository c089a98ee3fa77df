import pytest
from vector_index_contract import VectorIndexContract

from knowledge_base.errors import VectorIndexError
from knowledge_base.index import FaissIndex, InMemoryIndex

pytestmark = pytest.mark.integration


class TestFaissIndex(VectorIndexContract):
    index_class = FaissIndex

    def test_refuses_a_file_written_by_another_backend(self, tmp_path):
        InMemoryIndex(4).save(tmp_path / "kb.index", 1)
        with pytest.raises(VectorIndexError, match="'memory' index"):
            FaissIndex.load(tmp_path / "kb.index")
