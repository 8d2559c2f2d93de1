"""The node daemon (``exo-spec node``): runner supervisors behind an OpenAI-compatible API.

:mod:`.planner` is pure (the next task of each runner, from the spec's graph); the ASGI app
(:mod:`.app`) and the process lifecycle (:mod:`.daemon`) need the ``node`` extra (FastAPI,
uvicorn) and are imported only by ``exo-spec node``.
"""

__all__: list[str] = []
