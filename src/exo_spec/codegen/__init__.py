"""Spec -> ``generated/``: the transitions machine, its docs and (through tests_gen) its tests.

Pure: imports the spec, model and check layers, never the runtime or mlx. The generated
machine module imports ``transitions`` and ``exo_spec.model``.
"""

from exo_spec.codegen.generate import (
    GenerateResult,
    Layout,
    check_generated,
    generate,
    quick_check_generated,
    render,
    spec_problems,
)

__all__ = [
    "GenerateResult",
    "Layout",
    "check_generated",
    "generate",
    "quick_check_generated",
    "render",
    "spec_problems",
]
