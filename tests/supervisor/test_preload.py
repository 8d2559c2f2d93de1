"""The preloaded engine: its module's import can start after the runner reports Idle, and an
engine whose import never started is still built at its first use."""

from __future__ import annotations

from exo_spec.supervisor import EngineFactory
from exo_spec.supervisor.preload import PreloadedEngine
from tests.supervisor.engines import ENGINE


def test_an_engine_not_yet_started_is_imported_and_built_at_first_use() -> None:
    engine = PreloadedEngine(EngineFactory(ENGINE, {}), start=False)
    engine.connect(0, ())  # its first use: the import starts, is waited for, the engine is built
    engine.close()


def test_starting_twice_starts_one_import() -> None:
    engine = PreloadedEngine(EngineFactory(ENGINE, {}), start=False)
    engine.start()
    engine.start()  # a second start is a no-op, not a RuntimeError
    engine.connect(0, ())
    engine.close()
