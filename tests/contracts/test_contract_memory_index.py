import pytest
from vector_index_contract import VectorIndexContract

from knowledge_base.index import InMemoryIndex

pytestmark = pytest.mark.unit


class TestInMemoryIndex(VectorIndexContract):
    index_class = InMemoryIndex

    def test_ties_are_ordered_by_ascending_id(self):
        index = InMemoryIndex(2)
        index.add([9, 4, 6], [[1, 0], [1, 0], [0, 1]])
        assert index.search([[1, 0]], 2)[1].tolist() == [[4, 9]]
