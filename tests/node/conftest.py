"""One node daemon per test module, serving the embedded tiny model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.node.nodeproc import NodeProcess


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    root = tmp_path_factory.mktemp("node")
    process = NodeProcess(root / "models", root / "node.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()
