"""tier1's entry point and composition root.

The `tier1` CLI, the app factory that wires the knowledge base, the handoff module and the
admin console together, settings loading, HTTP error mapping, supervision of the processes,
and the load tool (`tier1.bench`).

`tier1` may import every package; `bot` (the Rasa assistant), `knowledge_base` and `handoff`
never import `tier1`. Importing this package does nothing.
"""
