import numpy as np
import pytest
from vector_index_contract import VectorIndexContract, unit

from knowledge_base.errors import VectorIndexError
from knowledge_base.index import FaissIndex, HnswIndex, create_index, load_index
from knowledge_base.settings import IndexSettings

pytestmark = pytest.mark.integration


class TestHnswIndex(VectorIndexContract):
    index_class = HnswIndex

    def test_refuses_a_file_written_by_another_backend(self, tmp_path):
        FaissIndex(4).save(tmp_path / "kb.index", 1)
        with pytest.raises(VectorIndexError, match="'faiss' index"):
            HnswIndex.load(tmp_path / "kb.index")

    def test_many_removals_compact_the_graph_and_keep_results_right(self):
        rng = np.random.default_rng(3)
        vectors = unit(rng.normal(size=(400, 8)))
        index = HnswIndex(8)
        index.add(np.arange(400), vectors)
        index.remove(np.arange(0, 400, 2))  # half dead: beyond the compaction threshold
        index.add(np.array([1]), vectors[2:3])  # replace a live id
        assert len(index) == 200 and len(index._ids) < 400
        scores, ids = index.search(vectors[2:3], 1)
        assert ids.tolist() == [[1]] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
        _, found = index.search(unit(rng.normal(size=(20, 8))), 10)
        assert not np.isin(found, np.arange(0, 400, 2)[1:]).any()

    def test_recall_against_exact_search_on_clustered_vectors(self):
        rng = np.random.default_rng(5)
        centres = unit(rng.normal(size=(20, 8)))
        data = unit(centres[rng.integers(0, 20, 2000)] + 0.3 * rng.normal(size=(2000, 8)))
        queries = unit(centres[rng.integers(0, 20, 50)] + 0.3 * rng.normal(size=(50, 8)))
        exact, approx = FaissIndex(8), HnswIndex(8, m=16, ef_search=64)
        exact.add(np.arange(2000), data)
        approx.add(np.arange(2000), data)
        truth, found = exact.search(queries, 10)[1], approx.search(queries, 10)[1]
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)])
        assert recall >= 0.95


def test_auto_picks_exact_search_for_small_corpora_and_hnsw_for_large(tmp_path):
    settings = IndexSettings(type="auto", hnsw_above=100, hnsw_m=8, hnsw_ef_search=40)
    assert isinstance(create_index(settings, 8, size=100), FaissIndex)
    large = create_index(settings, 8, size=101)
    assert isinstance(large, HnswIndex) and large.ef_search == 40
    large.add(np.arange(3), unit(np.eye(3, 8)))
    large.save(tmp_path / "kb.index", 7, "m")
    loaded, manifest = load_index(settings, tmp_path / "kb.index")
    assert isinstance(loaded, HnswIndex) and manifest.version == 7
    FaissIndex(8).save(tmp_path / "small.index", 1)
    assert isinstance(load_index(settings, tmp_path / "small.index")[0], FaissIndex)
