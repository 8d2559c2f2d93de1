"""Fixtures for tests and demos that ship with exo-spec: a local Hugging Face hub server.

``exo_spec.testing.hub`` serves a model folder over the hub's HTTP API (``make demo``,
``tools/hub_server.py`` and users' tests point ``HF_ENDPOINT`` at it). It imports nothing of
the project; importing this package loads nothing.
"""

__all__: list[str] = []
