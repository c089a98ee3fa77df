"""`tier1 bench`: the load tool.

`command` parses the CLI; `load` runs the phases (socket.io users in `user`, then the kb-search
phase in `search` and the Rasa baseline in `baseline`); `options`, `stats` and `texts` are what
the phases share, so no two phase modules import each other.
"""
