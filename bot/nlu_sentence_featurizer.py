"""A Rasa NLU featurizer: one sentence-transformers vector per message.

Word and character counts only know the words of the training data; "is a person reading
this?" shares none with "are you a bot?". A sentence embedding places them close, so the intent
classifier generalises to phrasings it never saw (benchmarks/QUALITY.md "NLU": cross-validated
macro F1 of the conversational intents with and without it). It reuses the knowledge base's
local model (`knowledge_base.embedder.SentenceTransformerEmbedder`, offline, loaded from disk),
so the Rasa server holds no second copy of anything it downloads.

Config (config.yml ``pipeline``)::

    - name: bot.nlu_sentence_featurizer.SentenceEmbeddingFeaturizer
      model: packaged:all-MiniLM-L6-v2   # or a local model directory
      scale: 10                          # multiplies the unit-length vector (see below)
      runtime: onnx                      # onnx (ONNX Runtime, ~2.4x faster per message) |
                                         # onnx-int8 (~4x faster again, other vectors) | torch
      threads: 1                         # onnx: ONNX Runtime threads per message
      cache_dir: null                    # onnx: exported models; null: ~/.cache/tier1/onnx
      torch_threads: 1                   # null: torch's default (one per core)

``runtime``, ``threads`` and ``cache_dir`` mean what they mean for the knowledge base's
embedder (``knowledge_base.embedder.SentenceTransformerEmbedder``). A relative ``cache_dir`` is
relative to the Rasa server's working directory. With ``onnx-int8`` the features are int8's
vectors (close to, not equal to, fp32's): retrain a model trained on another runtime's, and
the app's handed-over vector is used only if the app runs int8 too (the names differ). torch
still loads the model (and traces the ONNX export once), so ``torch_threads`` applies to every
runtime.

Only sentence-level features are added (no per-token sequence), which is what
``LogisticRegressionClassifier`` reads; DIET needs sequence features and is not served.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import embedding_handover
from knowledge_base.embedder import RUNTIMES, SentenceTransformerEmbedder
from knowledge_base.errors import EmbedderError
from knowledge_base.settings import PACKAGED_MODEL


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the message text's sentence embedding as a dense sentence feature.

    The vector is L2-normalised and then multiplied by ``scale``. Rasa's
    ``LogisticRegressionClassifier`` has a fixed regularisation (C = 1) shared with thousands
    of sparse count features; at unit length the 384 embedding values (about 0.05 each) would
    need weights the regulariser forbids, so the embedding would barely count.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's config keys and their defaults (config.yml overrides them)."""
        return {
            **DenseFeaturizer.get_default_config(),
            "model": PACKAGED_MODEL,
            "scale": 1.0,
            "batch_size": 64,
            "runtime": "onnx",
            "threads": 1,
            "cache_dir": None,  # the embedder's default, ~/.cache/tier1/onnx
            "torch_threads": 1,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages Rasa checks for before it loads the component."""
        return ["sentence_transformers", "onnxruntime"]

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._embedder = SentenceTransformerEmbedder(
            self._config["model"],
            batch_size=int(self._config["batch_size"]),
            runtime=self._config["runtime"],
            cache_dir=self._config["cache_dir"],
            threads=int(self._config["threads"]),
        )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """Builds the featurizer and loads the model now, so a bad ``model`` fails at start-up.

        With the onnx runtime the model is exported when the cache has no valid export.

        Raises:
            InvalidConfigException: a value out of range, or the model cannot be found, loaded
                or (onnx) exported.
        """
        config = {**cls.get_default_config(), **config}
        cls.validate_config(config)
        featurizer = cls(config, execution_context.node_name)
        threads = featurizer._config["torch_threads"]
        if threads is not None:
            # Rasa parses one message at a time; on a busy machine torch's default of a thread
            # per core spins against the other processes (measured 0.67 s per message with 2
            # threads vs 0.12 s with 1 on a loaded 2-core host). Process-wide, hence opt-out.
            import torch

            torch.set_num_threads(int(threads))
        try:
            featurizer._embedder.load()
        except EmbedderError as e:
            raise InvalidConfigException(f"{cls.__name__} (config.yml pipeline): {e}") from e
        return featurizer

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Rejects a config value out of range, naming it.

        Out of range: a non-positive ``scale``, ``batch_size``, ``threads`` or
        ``torch_threads``, an unknown ``runtime`` or a ``cache_dir`` that is not a path.

        Raises:
            InvalidConfigException: a value out of range.
        """
        scale = config.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise InvalidConfigException(
                f"{cls.__name__}: scale must be a number > 0, got {scale!r}; "
                "10 suits LogisticRegressionClassifier"
            )
        batch_size = config.get("batch_size", 64)
        if not _positive_int(batch_size):
            raise InvalidConfigException(
                f"{cls.__name__}: batch_size must be an integer >= 1, got {batch_size!r}"
            )
        threads = config.get("torch_threads", 1)
        if threads is not None and not _positive_int(threads):
            raise InvalidConfigException(
                f"{cls.__name__}: torch_threads must be an integer >= 1 or null, got {threads!r}"
            )
        runtime = config.get("runtime", "onnx")
        if runtime not in RUNTIMES:
            raise InvalidConfigException(
                f"{cls.__name__}: runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}; "
                "onnx is faster, onnx-int8 faster still (other vectors), torch runs any "
                "sentence-transformers model"
            )
        onnx_threads = config.get("threads", 1)
        if not _positive_int(onnx_threads):
            raise InvalidConfigException(
                f"{cls.__name__}: threads must be an integer >= 1, got {onnx_threads!r}; "
                "1 suits a shared host"
            )
        cache_dir = config.get("cache_dir")
        if cache_dir is not None and (not isinstance(cache_dir, str) or not cache_dir.strip()):
            raise InvalidConfigException(
                f"{cls.__name__}: cache_dir must be a directory path or null, got {cache_dir!r}"
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training example that has a text (rule steps have none)."""
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes incoming messages, reusing a vector the app handed over with one.

        A handed-over vector is used only if this model made it (`bot.embedding_handover`), so
        it is the one this would compute; other messages are encoded here.
        """
        self._featurize(messages, handed_over=True)
        return messages

    def _featurize(self, messages: list[Message], handed_over: bool = False) -> None:
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text:
            return
        known: list[np.ndarray | None] = [None] * len(with_text)
        if handed_over:
            dims = self._embedder.dimensions
            # take() also removes the vector from the metadata, so the tracker never stores it.
            known = [embedding_handover.take(m.get(METADATA), self._embedder.name, dims)
                     for m in with_text]
        missing = [i for i, v in enumerate(known) if v is None]
        if missing:
            encoded = self._embedder.encode([with_text[i].get(TEXT) for i in missing])
            for i, vector in zip(missing, encoded):
                known[i] = vector
        vectors = np.stack(known).astype(np.float32) * float(self._config["scale"])
        for message, vector in zip(with_text, vectors):
            self.add_features_to_message(
                sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message
            )


def _positive_int(value: Any) -> bool:
    """An int >= 1 (and not a bool, which Python counts as an int)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
