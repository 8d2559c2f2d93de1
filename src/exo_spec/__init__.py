"""exo-spec: a runner's lifecycle as one YAML spec, and everything derived from it.

The public API is re-exported per layer: :mod:`exo_spec.spec` (load a spec),
:mod:`exo_spec.model` (the reference ``step``), :mod:`exo_spec.check` (the linter),
:mod:`exo_spec.codegen`, :mod:`exo_spec.machine` (the generated machines' base),
:mod:`exo_spec.runtime`, :mod:`exo_spec.engine`,
:mod:`exo_spec.supervisor` and :mod:`exo_spec.conformance`. Importing this package is cheap.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
