"""What every generated test module shares: the header, names as source text, the imports.

:class:`Names` turns the spec's names and the model's steps into source text (enum members,
guard dictionaries, ``Step(...)`` calls); :func:`finish` joins a module's parts and imports
from the recording bindings exactly the names its body uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from exo_spec.codegen.source import header_lines, isort_key
from exo_spec.codegen.tests_pyfmt import Call, Code, Literal, attr, lit
from exo_spec.codegen.tests_support import HELPER_EXPORTS
from exo_spec.model.cells import Event, Expect, Step
from exo_spec.model.valuations import GuardValues
from exo_spec.spec import Spec, valid_name

__all__ = [
    "IMPORTS",
    "Names",
    "assign",
    "class_prefix",
    "define",
    "finish",
    "header",
    "row_test",
]


def class_prefix(machine: str) -> str:
    """``runner`` -> ``Runner``, ``my_runner`` -> ``MyRunner``: the generated classes' prefix."""
    if not valid_name(machine):
        raise ValueError(f"machine name {machine!r} is not a valid identifier")
    return "".join(part[:1].upper() + part[1:] for part in machine.split("_"))


def header(spec: Spec, doc: str) -> str:
    """The generated-file header: tool and version, DO NOT EDIT, spec path and sha256."""
    return (
        "".join(line + "\n" for line in header_lines(spec))
        + f'"""{doc}"""\n'
        + "\n"
        + "from __future__ import annotations\n"
        + "\n"
    )


class Names:
    """Source text for the spec's names: enum members, guard dictionaries, steps."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.prefix = class_prefix(spec.machine)
        self.state_enum = f"{self.prefix}State"
        self.task_enum = f"{self.prefix}Task"

    def state(self, name: str) -> Code:
        return attr(self.state_enum, name)

    def task(self, name: str) -> Code:
        return attr(self.task_enum, name)

    def guards(self, values: GuardValues) -> dict[str, Literal]:
        return {name: value for name, value in values}

    def events(self, events: Iterable[Event]) -> tuple[Literal, ...]:
        return tuple(tuple(part for part in event) for event in events)

    def expect(self, expect: Expect) -> Call:
        state: tuple[str | None, Literal] = (None, self.state(expect.state))
        if expect.kind == "deferred":
            return Call("deferred", (state,))
        if expect.kind == "rejected":
            return Call(
                "rejected",
                (
                    state,
                    ("message", expect.message),
                    ("allowed", tuple(self.task(t) for t in expect.allowed)),
                    ("events", self.events(expect.events)),
                ),
            )
        return Call(
            "accepted",
            (state, ("calls", expect.calls), ("events", self.events(expect.events))),
        )

    def step(self, step: Step) -> Call:
        return Call(
            "Step",
            (
                (None, self.task(step.task)),
                (None, self.guards(step.guards)),
                (None, step.result),
                (None, self.expect(step.expect)),
            ),
        )


IMPORTS = "<imports>"


def finish(parts: list[str], helper: str, names: Names) -> str:
    """Join a test module, importing from the helper exactly the names its body uses."""
    text = "".join(part for part in parts if part != IMPORTS)
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    body = re.sub(r'"[^"\n]*"', '""', code)  # a name inside a string is not a use
    candidates = (*HELPER_EXPORTS, names.state_enum, names.task_enum)
    used = [n for n in candidates if re.search(rf"\b{n}\b", body)]
    listed = "".join(f"    {name},\n" for name in sorted(used, key=isort_key))
    imports = f"import pytest\nfrom {helper} import (\n{listed})\n"
    return "".join(imports if part == IMPORTS else part for part in parts)


def assign(name: str, annotation: str, value: Literal) -> str:
    lead = len(f"{name}: {annotation} = ")
    return f"{name}: {annotation} = {lit(value, 0, lead, 0)}\n"


def define(name: str, params: str) -> str:
    """``def name(params) -> None:`` on one line when it fits, as ``ruff format`` writes it."""
    line = f"def {name}({params}) -> None:"
    return line if len(line) <= 100 else f"def {name}(\n    {params}\n) -> None:"


def row_test(
    table: str, params_list: str, test: str, params: Sequence[tuple[str, str]], body: str
) -> str:
    """A test run once per entry of ``table`` (a dict of name -> row, the name its pytest id):
    the ``params_list`` of ``pytest.param``, the ``parametrize`` mark over ``params`` (name,
    annotation), the ``def`` line, then ``body`` (the test's indented lines)."""
    argnames = ", ".join(f'"{name}"' for name, _ in params)
    signature = ", ".join(f"{name}: {annotation}" for name, annotation in params)
    return (
        f"{params_list} = [pytest.param(*row, id=name) for name, row in {table}.items()]\n\n\n"
        f"@pytest.mark.parametrize(({argnames}), {params_list})\n"
        f"{define(test, signature)}\n{body}"
    )
