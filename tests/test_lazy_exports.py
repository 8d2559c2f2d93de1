"""The packages whose public names are imported at first use (:mod:`exo_spec.lazy`): every
name in ``__all__`` is there, is the object its module defines, and importing a package imports
none of its modules."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

LAZY = ["exo_spec.spec", "exo_spec.runtime", "exo_spec.supervisor"]


@pytest.mark.parametrize("package", LAZY)
def test_every_public_name_is_importable_from_the_package(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        defined_in = getattr(value, "__module__", None)
        if isinstance(defined_in, str) and defined_in.startswith(package + "."):
            assert getattr(importlib.import_module(defined_in), name) is value
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)  # the star import takes __all__
    assert set(module.__all__) <= set(namespace)


@pytest.mark.parametrize("package", LAZY)
def test_an_unknown_name_is_an_attribute_error(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", LAZY)
def test_importing_a_package_imports_none_of_its_modules(package: str) -> None:
    code = f"import sys, json, {package}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = [name for name in json.loads(out.stdout) if name.startswith(package + ".")]
    assert loaded == []
