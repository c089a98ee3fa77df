"""The sentence vector handed from the app to Rasa's NLU in the webhook metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot import embedding_handover

pytestmark = [pytest.mark.unit]


def test_a_packed_vector_survives_json_and_is_taken_out_of_the_metadata():
    vector = np.random.default_rng(0).normal(size=384).astype(np.float32)
    metadata = json.loads(json.dumps({"customData": 1, **embedding_handover.pack("m", vector)}))
    taken = embedding_handover.take(metadata, "m", 384)
    assert np.array_equal(taken, vector)
    assert metadata == {"customData": 1}


@pytest.mark.parametrize("handed", [
    {"model": "other", "vector": None},
    {"model": "m", "vector": "%%%"},
    {"model": "m", "vector": "AAAA"},  # one float: the wrong size
    "not an object",
])
def test_anything_unusable_is_removed_and_ignored(handed):
    metadata = {embedding_handover.METADATA_KEY: handed}
    if isinstance(handed, dict) and handed["vector"] is None:
        metadata = embedding_handover.pack("other", np.ones(384, dtype=np.float32))
    assert embedding_handover.take(metadata, "m", 384) is None
    assert metadata == {}


def test_non_finite_vectors_are_refused_and_metadata_of_other_types_ignored():
    metadata = embedding_handover.pack("m", np.full(4, np.nan, dtype=np.float32))
    assert embedding_handover.take(metadata, "m", 4) is None
    assert embedding_handover.take(None, "m", 4) is None
    assert embedding_handover.take(["x"], "m", 4) is None
