"""tier1's Rasa assistant and entry point: the `tier1` CLI and the app composition root."""
