"""tier1's custom Rasa actions, served by ``rasa run actions --actions bot.actions``.

Thin adapters: tracker in, one call to the app server's internal API, events out. The
decisions (answer, clarify, hand off) are made by the knowledge base and handoff services.
"""

from bot.actions.answer import ActionAnswer
from bot.actions.handoff import ActionHandoff

__all__ = ["ActionAnswer", "ActionHandoff"]
