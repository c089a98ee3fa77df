"""Rasa's keys of config.yml, and whether its NLU can reuse the app's sentence vector."""

from pathlib import Path

import pytest

from bot.rasa_config import encoder_mismatch, rasa_config
from knowledge_base.settings import PACKAGED_MODEL
from tier1.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
FEATURIZER = "bot.nlu_sentence_featurizer.SentenceEmbeddingFeaturizer"


def _pipeline(**featurizer):
    return {"pipeline": [{"name": "WhitespaceTokenizer"}, {"name": FEATURIZER, **featurizer}]}


def test_the_repository_config_encodes_each_message_once():
    settings = load_settings(ROOT / "config.yml", env={
        "TIER1_JWT_SECRET": "x" * 32, "TIER1_INTERNAL_TOKEN": "y" * 32, "TIER1_RASA_TOKEN": "z" * 32,
    })
    embedder = settings.knowledge_base.embedder
    assert encoder_mismatch(rasa_config(ROOT / "config.yml"), embedder.model, embedder.runtime) is None


@pytest.mark.parametrize(("nlu", "kb_runtime"), [
    ({"model": PACKAGED_MODEL, "runtime": "onnx"}, "torch"),  # same vectors
    ({"model": PACKAGED_MODEL, "runtime": "onnx-int8"}, "onnx-int8"),
    ({}, "onnx"),  # the featurizer's defaults
])
def test_same_model_and_kind_of_vector_is_no_mismatch(nlu, kb_runtime):
    assert encoder_mismatch(_pipeline(**nlu), PACKAGED_MODEL, kb_runtime) is None


def test_int8_on_one_side_only_is_named_with_the_fix():
    problem = encoder_mismatch(_pipeline(runtime="onnx"), PACKAGED_MODEL, "onnx-int8")
    assert "(onnx)" in problem and "(onnx-int8)" in problem
    assert "encoded twice" in problem and "knowledge_base.embedder" in problem


def test_another_model_is_a_mismatch():
    assert "installed:all-mpnet-base-v2" in encoder_mismatch(
        _pipeline(), "installed:all-mpnet-base-v2", "onnx"
    )


def test_a_pipeline_without_the_featurizer_has_nothing_to_reuse():
    assert encoder_mismatch({"pipeline": [{"name": "WhitespaceTokenizer"}]}, "x", "onnx") is None
    assert encoder_mismatch({}, "x", "onnx") is None
