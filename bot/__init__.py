"""tier1's Rasa assistant and nothing else.

Domain, NLU data and rules, custom actions (`bot.actions`), the escalation policy, the NLU
sentence featurizer, training and scenarios.

`bot` never imports `tier1` (the app): the action server reads its few settings itself
(`bot.actions.settings`) and calls the app over HTTP.
"""
