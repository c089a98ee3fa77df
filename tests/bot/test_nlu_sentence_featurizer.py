"""The sentence-embedding featurizer of the NLU pipeline (bot/nlu_sentence_featurizer.py)."""

from __future__ import annotations

import numpy as np
import pytest


def featurizer_class():
    from bot.nlu_sentence_featurizer import SentenceEmbeddingFeaturizer

    return SentenceEmbeddingFeaturizer


def create(**config):
    from rasa.engine.graph import ExecutionContext, GraphSchema

    cls = featurizer_class()
    context = ExecutionContext(GraphSchema({}), node_name="sentence_featurizer")
    return cls.create(config, model_storage=None, resource=None, execution_context=context)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"scale": 0}, "scale"),
        ({"scale": -2.5}, "scale"),
        ({"scale": "ten"}, "scale"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"torch_threads": 0}, "torch_threads"),
        ({"torch_threads": True}, "torch_threads"),
        ({"runtime": "tensorflow"}, "runtime must be one of onnx, onnx-int8, torch"),
        ({"threads": 0}, "threads"),
        ({"threads": True}, "threads"),
        ({"cache_dir": 5}, "cache_dir"),
        ({"cache_dir": " "}, "cache_dir"),
    ],
)
def test_a_bad_config_value_is_rejected_by_name(config, named):
    from rasa.shared.exceptions import InvalidConfigException

    with pytest.raises(InvalidConfigException, match=named):
        featurizer_class().validate_config(config)


@pytest.mark.unit
def test_defaults_are_valid():
    cls = featurizer_class()
    cls.validate_config(cls.get_default_config())


@pytest.mark.unit
def test_creation_validates_the_config_before_loading_anything():
    from rasa.shared.exceptions import InvalidConfigException

    with pytest.raises(InvalidConfigException, match="runtime"):
        create(runtime="tensorflow", torch_threads=None)


@pytest.mark.unit
def test_the_runtime_options_reach_the_embedder(tmp_path):
    cls = featurizer_class()
    onnx = cls({**cls.get_default_config(), "cache_dir": str(tmp_path), "threads": 2}, "f")
    assert onnx._embedder.runtime == "onnx" and cls.get_default_config()["runtime"] == "onnx"
    assert onnx._embedder._cache_dir == tmp_path and onnx._embedder._threads == 2
    torch = cls({**cls.get_default_config(), "runtime": "torch"}, "f")
    assert torch._embedder.runtime == "torch"


@pytest.mark.unit
def test_a_missing_model_fails_at_creation_naming_the_setting(tmp_path):
    from rasa.shared.exceptions import InvalidConfigException

    with pytest.raises(InvalidConfigException, match="SentenceEmbeddingFeaturizer.*no sentence"):
        create(model=str(tmp_path / "nowhere"), torch_threads=None)


@pytest.mark.integration
@pytest.mark.slow
def test_messages_get_one_scaled_sentence_vector_and_textless_ones_none(tmp_path):
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    featurizer = create(scale=10, cache_dir=str(tmp_path))
    messages = [
        Message(data={TEXT: "are you a bot?"}),
        Message(data={TEXT: "is this a robot"}),
        Message(data={TEXT: "how do I top up my balance"}),
        Message(data={"intent": "greet"}),
    ]
    featurizer.process_training_data(TrainingData(training_examples=messages))

    sequence, _ = messages[0].get_dense_features(TEXT)
    assert sequence is None
    vectors = [m.get_dense_features(TEXT)[1].features[0] for m in messages[:3]]
    assert vectors[0].shape == (384,)
    assert np.linalg.norm(vectors[0]) == pytest.approx(10.0, rel=1e-4)
    # meaning, not words: the two bot questions share no word but are closer than the question
    similar = vectors[0] @ vectors[1]
    assert similar > vectors[0] @ vectors[2]
    assert messages[3].get_dense_features(TEXT) == (None, None)

    parsed = Message(data={TEXT: "are you a bot?"})
    featurizer.process([parsed])
    assert np.allclose(parsed.get_dense_features(TEXT)[1].features[0], vectors[0], atol=1e-4)


@pytest.mark.integration
@pytest.mark.slow
def test_onnx_and_torch_featurizers_agree(tmp_path):
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    texts = ["are you a bot?", "thx", "I want to speak to a human being right now please"]
    vectors = {}
    for runtime in ("onnx", "torch"):
        messages = [Message(data={TEXT: t}) for t in texts]
        create(scale=10, runtime=runtime, cache_dir=str(tmp_path)).process(messages)
        vectors[runtime] = np.vstack([m.get_dense_features(TEXT)[1].features for m in messages])
    cosines = np.sum(vectors["onnx"] * vectors["torch"], axis=1) / 100  # both have norm 10
    assert cosines.min() >= 0.9999
    assert len(list(tmp_path.glob("*.onnx"))) == 1


@pytest.mark.integration
@pytest.mark.slow
def test_a_handed_over_vector_is_used_and_never_kept_in_the_metadata(tmp_path, monkeypatch):
    from rasa.shared.nlu.constants import METADATA, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot import embedding_handover

    featurizer = create(scale=10, cache_dir=str(tmp_path))
    name = featurizer._embedder.name
    reference = featurizer._embedder.encode(["where is my parcel"])[0]
    encoded: list[list[str]] = []
    real_encode = featurizer._embedder.encode
    monkeypatch.setattr(featurizer._embedder, "encode",
                        lambda texts, **kw: encoded.append(list(texts)) or real_encode(texts))

    own = {"lang": "en", **embedding_handover.pack(name, reference)}
    other = {**embedding_handover.pack("another-model", reference)}
    broken = {embedding_handover.METADATA_KEY: {"model": name, "vector": "not base64!"}}
    messages = [Message(data={TEXT: "where is my parcel", METADATA: md})
                for md in (own, other, broken)]
    featurizer.process(messages)

    assert encoded == [["where is my parcel", "where is my parcel"]]  # only the two unusable
    for message in messages:
        vector = message.get_dense_features(TEXT)[1].features[0]
        assert np.allclose(vector, reference * 10, atol=1e-4)
    assert own == {"lang": "en"} and other == {} and broken == {}  # removed from every one
