"""`python -m bot.rasa_server run ...`: Rasa's own command line, with tier1's measured fixes.

`tier1 run` starts the Rasa server through this module instead of the ``rasa`` script. It is the
same Rasa 3.6.21 (same arguments, same model, same HTTP API); only the fixes below are applied
first, each one because a CPU profile of the server under load showed it (BENCHMARKS.md,
"Cost of one turn"):

- **Action responses are validated against a schema checked once.** Rasa's
  ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``, which re-validates
  the (constant) response schema against the JSON-Schema meta-schema on every action call:
  a third of the Rasa server's CPU per turn. Here the validator is built once and every
  response is still validated against the same schema, with the same error on a bad one.
  Valid responses take a shorter path (`_is_valid_fast`): the schema's ``oneOf`` over Rasa's
  23 event types tried every type's sub-schema on every event (a tenth of Rasa's CPU under
  load); each event is checked against the one sub-schema its ``event`` name selects, which
  accepts exactly the same responses because the names are distinct and required. A response
  it rejects goes through the full validator for Rasa's own error.

- **The action server gets the recent events, not all of them** (`bot.action_tracker`): Rasa
  sent every event of the conversation with every action call, a request that grew with the
  conversation; the actions read only the latest episode's recent user messages. (The domain,
  which the actions never read, is not sent either: ``enable_selective_domain`` in the
  generated endpoints.yml.)

- **The intent classifier reads one message's features without scipy's stacking.** Rasa's
  ``LogisticRegressionClassifier._create_X`` combined each featurizer's sentence features
  (a deep copy and a sparse ``hstack`` per featurizer), stacked them with the dense ones and
  then stacked the messages: for one message, a third of the NLU's time with the handed-over
  vector. For a few messages (a parse; training keeps Rasa's path) the row is the same
  features in the same order, concatenated as one dense array; the classifier's
  probabilities are the same (`tests/bot/test_rasa_server.py` checks it against Rasa's).

- **The policies' dialogue states are carried from turn to turn** (`bot.tracker_states`):
  every prediction asked Rasa three times for the states of the whole conversation, each a
  replay of every event (three quarters of a prediction by turn 13, and the reason a
  prediction grew from 0.5 ms at turn 1 to 3.9 ms at turn 40); the replay now goes on from
  the previous turn's, with Rasa's own states (`tests/bot/test_tracker_states.py`).

It also times the stages of a turn inside Rasa (`instrument`) into tier1's stage histogram
(`bot.metrics`): ``rasa_message``, ``rasa_nlu``, ``rasa_policies``, ``rasa_tracker_load``,
``rasa_tracker_save`` and ``rasa_action``, served with the app's at ``GET /metrics``.

Nothing happens at import time: `apply_fixes` and `instrument` patch, `main` patches and runs Rasa.
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot import action_tracker, metrics, tracker_states
from bot.metrics import StageObserver


@functools.lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    """The validator of Rasa's action-server response schema (its schema checked once)."""
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.lru_cache(maxsize=1)
def _event_validators() -> tuple[Any, dict[str, Any]] | None:
    """(the schema without the events' ``oneOf``, a validator per event name), or None.

    None when the schema is not shaped as this relies on (each ``oneOf`` branch selected by a
    distinct ``const`` of the required ``event`` property): then only the full check runs.
    """
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    cls = validators.validator_for(schema)
    try:
        items = schema["properties"]["events"]["items"]
        branches = items.pop("oneOf")
        names = [branch["properties"]["event"]["const"] for branch in branches]
        required = "event" in items["required"]
    except (KeyError, TypeError):
        return None
    if not required or len(set(names)) != len(names):
        return None
    return cls(schema), {name: cls(branch) for name, branch in zip(names, branches)}


def _is_valid_fast(result: Any) -> bool:
    """True if ``result`` is valid; False means "not known valid" (the full check decides)."""
    checkers = _event_validators()
    if checkers is None:
        return False
    base, by_event = checkers
    if not base.is_valid(result):
        return False
    for event in result.get("events") or ():  # base checked: a list of objects with "event"
        checker = by_event.get(event["event"])
        if checker is None or not checker.is_valid(event):
            return False
    return True


def validate_action_result(result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` without re-checking the schema every call.

    Raises:
        jsonschema.ValidationError: as Rasa's original, with its pointer to the docs.
    """
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    if _is_valid_fast(result):
        return True
    error = best_match(_action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


FEW_MESSAGES = 8  # up to this many messages, the classifier's rows are built directly


def intent_rows(messages: list[Any]) -> Any:
    """Rasa's ``LogisticRegressionClassifier`` input for ``messages``, as a dense array.

    Each row is the message's sparse sentence features, featurizer by featurizer in the order
    they were added, then its dense ones, as Rasa's ``Message.get_sparse_features`` /
    ``get_dense_features`` combine them. None when a message has no sentence features.
    """
    import numpy as np
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT

    rows = []
    for message in messages:
        sentence = [f for f in message.features
                    if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
        parts = [f.features.toarray().ravel() for f in sentence if f.is_sparse()]
        parts += [np.asarray(f.features).ravel() for f in sentence if f.is_dense()]
        if not parts:
            return None
        rows.append(np.concatenate(parts))
    return np.vstack(rows)


def apply_fixes() -> None:
    """Patch the running Rasa with the fixes in this module's docstring (idempotent)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.nlu.classifiers.logistic_regression_classifier import (
        LogisticRegressionClassifier,
    )

    def _validate(self: RemoteAction, result: dict[str, Any]) -> bool:
        return validate_action_result(result)

    RemoteAction._validate_action_result = _validate  # type: ignore[method-assign]
    RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]

    rasas_create_x = LogisticRegressionClassifier.__dict__["_create_X"]
    if not getattr(rasas_create_x, "__tier1_fixed__", False):

        @functools.wraps(rasas_create_x)
        def _create_x(self: Any, messages: list[Any]) -> Any:
            rows = intent_rows(messages) if len(messages) <= FEW_MESSAGES else None
            return rasas_create_x(self, messages) if rows is None else rows

        _create_x.__tier1_fixed__ = True  # type: ignore[attr-defined]
        LogisticRegressionClassifier._create_X = _create_x  # type: ignore[method-assign]

    tracker_states.install()


def _action_call_format(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
    """Rasa 3.6.21's ``RemoteAction._action_call_format`` with `action_tracker.tracker_state`."""
    import rasa

    result = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": action_tracker.tracker_state(tracker),
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(
        self.name()
    ):
        result["domain"] = domain.as_dict()
    return result


def _timed_async(fn: Callable[..., Awaitable[Any]], observe: StageObserver, stage: str) -> Any:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            observe(stage, time.perf_counter() - started)

    wrapper.__tier1_timed__ = True  # type: ignore[attr-defined]
    return wrapper


def _timed_sync(fn: Callable[..., Any], observe: StageObserver, stage: str) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            observe(stage, time.perf_counter() - started)

    wrapper.__tier1_timed__ = True  # type: ignore[attr-defined]
    return wrapper


def instrument(observe: StageObserver | None = None) -> None:
    """Time Rasa's stages of a turn into ``observe`` (default: the ``rasa`` stage histogram).

    Idempotent: a method already timed is left as it is.
    """
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor

    from bot.tracker_store import PooledSQLTrackerStore

    observe = observe or metrics.observer("rasa")
    targets = [
        (MessageProcessor, "handle_message", "rasa_message", True),
        (MessageProcessor, "parse_message", "rasa_nlu", True),
        (MessageProcessor, "_predict_next_with_tracker", "rasa_policies", False),
        (PooledSQLTrackerStore, "retrieve", "rasa_tracker_load", True),
        (PooledSQLTrackerStore, "save", "rasa_tracker_save", True),
        (RemoteAction, "run", "rasa_action", True),
    ]
    for cls, name, stage, is_async in targets:
        fn = cls.__dict__[name]
        if getattr(fn, "__tier1_timed__", False):
            continue
        wrap = _timed_async if is_async else _timed_sync
        setattr(cls, name, wrap(fn, observe, stage))


def main() -> None:
    """Run Rasa's command line (``sys.argv``) with the fixes applied and its stages timed."""
    apply_fixes()
    instrument()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
