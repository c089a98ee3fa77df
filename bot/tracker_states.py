"""A conversation's dialogue states, carried from turn to turn instead of replayed every time.

Rasa's policies see a conversation as its list of *states* (the user's intent, the slots, the
previous action, the active loop at each action). Rasa 3.6 builds that list in
``Domain.states_for_tracker_history`` by replaying every event of the conversation into a fresh
tracker, and each prediction asks for it three times (MemoizationPolicy once, RulePolicy twice),
two predictions a turn: the cost grows with the conversation (a prediction took 0.5 ms at turn 1
and 3.9 ms at turn 40 of tier1's demo conversation, three quarters of it in this replay).

`StateHistory` keeps, per conversation and kind of call, the replay itself: the events replayed,
the replaying tracker and the states so far. A call whose tracker's applied events start with
the very event objects replayed before (Rasa's tracker cache, `bot.tracker_store`, hands back
the same tracker turn after turn) replays only the new events; any other call (another
session, a rewind, a restart, a tracker read again from the database, another domain) replays
from the start, as Rasa does. Each step is Rasa 3.6's own loop body (`_state_at`), and every
call returns fresh copies, since the featurizers edit the states they get.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import operator
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache

DEFAULT_SIZE = 4000  # replays kept: conversations x kinds of call (two per prediction)

State = dict[str, dict[str, Any]]


@dataclass
class _Replay:
    domain: Any
    tracker: Any  # the replaying tracker, after `events`
    seen: list[Any] = field(default_factory=list)  # the conversation's events when last called
    plain: bool = False  # `seen` has no loop event: the next plain events are applied as they come
    events: list[Any] = field(default_factory=list)  # the applied events replayed
    states: list[State] = field(default_factory=list)  # one per ActionExecuted in `events`
    last_ml_action: Any = None
    turn_was_hidden: bool = False


def _state_at(
    domain: Any,
    replay: _Replay,
    tracker: Any,
    hide_rule_turn: bool,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
) -> State | None:
    """One step of Rasa's ``Domain.states_for_tracker_history`` (3.6.21) at ``tracker``.

    Updates ``replay.last_ml_action`` / ``replay.turn_was_hidden`` as Rasa's loop variables
    and returns the state to append, or None for a hidden rule turn.
    """
    from rasa.shared.core.constants import PREVIOUS_ACTION

    if ignore_rule_only_turns:
        if not replay.turn_was_hidden:
            replay.last_ml_action = domain._get_prev_action_sub_state(tracker)
        if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
            replay.turn_was_hidden = hide_rule_turn
        if replay.turn_was_hidden:
            return None
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if replay.states:
            domain._substitute_rule_only_user_input(state, replay.states[-1])
        if replay.last_ml_action:
            state[PREVIOUS_ACTION] = replay.last_ml_action
    return domain._clean_state(state)


def _plain_continuation(replay: _Replay, tracker: Any) -> list[Any] | None:
    """The tracker's applied events when they are ``replay``'s plus new plain events, else None.

    Plain: not a restart, a new session, a revert or a loop event, the events whose meaning
    depends on what came before or after them in Rasa's ``applied_events``; the others are
    applied as they come, so Rasa's O(events) reading of the whole conversation is skipped.
    """
    from rasa.shared.core.events import (
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
    )

    events = tracker.events
    if not replay.plain or len(events) < len(replay.seen):
        return None
    if not all(map(operator.is_, replay.seen, events)):
        return None
    new = list(itertools.islice(events, len(replay.seen), None))
    special = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)
    if any(isinstance(event, special) for event in new):
        return None
    return replay.events + new


def _copies(states: list[State]) -> list[State]:
    """Fresh states and sub-states; a sub-state shared by two states stays shared, as in Rasa's."""
    fresh: dict[int, dict[str, Any]] = {}
    out = []
    for state in states:
        copied = {}
        for kind, sub_state in state.items():
            twin = fresh.get(id(sub_state))
            if twin is None:
                twin = fresh[id(sub_state)] = dict(sub_state)
            copied[kind] = twin
        out.append(copied)
    return out


class StateHistory:
    """Replays of recent conversations, least recently used dropped first (at least one kept)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._replays: LRUCache[tuple[Any, ...], _Replay] = LRUCache(max(1, size))

    def __len__(self) -> int:
        return len(self._replays)

    def states(
        self,
        domain: Any,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[State]:
        """What ``domain.states_for_tracker_history(tracker, ...)`` returns, replaying less."""
        from rasa.shared.core.events import ActionExecuted, ActiveLoop

        key = (
            tracker.sender_id,
            tracker.is_rule_tracker,
            omit_unset_slots,
            ignore_rule_only_turns,
            json.dumps(rule_only_data, sort_keys=True, default=str),
        )
        replay = self._replays.get(key)
        if replay is not None and replay.domain is not domain:
            replay = None
        applied = _plain_continuation(replay, tracker) if replay is not None else None
        if applied is None:  # Rasa's own reading of the events (reverts, restarts, loops)
            applied = tracker.applied_events()
            if (
                replay is None
                or len(replay.events) > len(applied)
                or not all(map(operator.is_, replay.events, applied))
            ):
                replay = _Replay(domain, tracker.init_copy())
            replay.plain = not any(isinstance(event, ActiveLoop) for event in tracker.events)
        replay.seen = list(tracker.events)
        self._replays[key] = replay

        step = functools.partial(
            _state_at,
            domain,
            omit_unset_slots=omit_unset_slots,
            ignore_rule_only_turns=ignore_rule_only_turns,
            rule_only_data=rule_only_data,
        )
        for event in applied[len(replay.events):]:
            if isinstance(event, ActionExecuted):
                state = step(replay, replay.tracker, event.hide_rule_turn)
                if state is not None:
                    replay.states.append(state)
            replay.tracker.update(event)
            replay.events.append(event)

        # Rasa's last step (the tracker after every event) is taken on a copy of the loop
        # variables and not kept: the next event changes it.
        last = step(dataclasses.replace(replay), replay.tracker, False)
        return _copies(replay.states + ([last] if last is not None else []))


def install(history: StateHistory | None = None) -> None:
    """Make Rasa's ``Domain.states_for_tracker_history`` use ``history`` (idempotent)."""
    from rasa.shared.core.domain import Domain

    if getattr(Domain.states_for_tracker_history, "__tier1_fixed__", False):
        return
    history = StateHistory() if history is None else history

    def states_for_tracker_history(
        self: Any,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[State]:
        return history.states(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)

    states_for_tracker_history.__tier1_fixed__ = True  # type: ignore[attr-defined]
    states_for_tracker_history.__wrapped__ = Domain.states_for_tracker_history  # type: ignore[attr-defined]
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
