"""The conformance suite: real third-party clients of Parallel's API, pointed at the emulator.

Clients whose pins fit ours (the `openai` SDK, LiteLLM) run here, in the main run. Clients
whose pins conflict with ours live in `isolated/<client>/`, each with the requirements of
its own environment; `.ci/run` gives each its own venv and pytest run, and the main run
skips that directory. Adding a client (`parallel-web`'s `client.search`, once the emulator
serves Search) is a new file here, or a new `isolated/<client>/` directory with a
`requirements.txt` and tests, which `.ci/run` picks up as it is.
"""

from __future__ import annotations

collect_ignore = ["isolated"]
