"""tier1's custom Rasa actions, served by ``rasa run actions --actions bot.actions``.

Thin adapters: tracker in, one call to the app server's internal API or to the escalation
policy (`bot.escalation`), events out. The decisions (answer, clarify, hand off) are made by the
knowledge base service and the escalation policy.
"""

from bot.actions.answer import ActionAnswer
from bot.actions.handoff import ActionHandoff
from bot.actions.reply import ActionReply

__all__ = ["ActionAnswer", "ActionHandoff", "ActionReply"]
