"""Draw any spec's machine through transitions' own diagram support: Mermaid, DOT or SVG.

The edges come from :func:`exo_spec.model.drawing.drawn_edges` (one arrow per task, one per
end of an action, as the generated ``<machine>.md`` draws them); a
:class:`transitions.extensions.diagrams.GraphMachine` built from them is rendered by its
``mermaid`` backend (pure Python) or its ``graphviz`` backend (the ``graphviz`` package, the
``diagram`` extra; SVG also needs Graphviz's ``dot`` binary). Transient states are styled,
final states lead to an end marker. Everything heavy is imported here, when a diagram is drawn.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any, Literal, cast

from exo_spec.extras import require
from exo_spec.model.drawing import drawn_edges
from exo_spec.spec.types import Spec

__all__ = ["FORMATS", "DiagramError", "Format", "draw"]

Format = Literal["mermaid", "dot", "svg"]
FORMATS: tuple[Format, ...] = ("mermaid", "dot", "svg")


class DiagramError(Exception):
    """A diagram cannot be drawn here (a tool is missing); the message says what to install."""


Engine = Literal["mermaid", "graphviz"]


def _graph_machine(spec: Spec, engine: Engine) -> Any:
    from transitions.extensions.diagrams import GraphMachine  # noqa: PLC0415  (lazy: diagrams only)

    # transitions warns (through logging) when a trigger shadows one of the machine's own
    # attributes; the diagram never triggers anything.
    logging.getLogger("transitions").setLevel(logging.ERROR)
    transitions = []
    for edge in drawn_edges(spec):
        transition: dict[str, Any] = {
            "trigger": edge.trigger,
            "source": edge.source,
            "dest": edge.dest,
        }
        if edge.guard is not None:
            transition["conditions"] = [edge.guard]
        transitions.append(transition)
    machine = GraphMachine(
        model="self",
        states=[state.name for state in spec.states],
        transitions=transitions,
        initial=spec.initial,
        auto_transitions=False,
        show_conditions=True,
        graph_engine=engine,
        title=spec.machine,
    )
    node_styles = cast("dict[str, dict[str, str]]", machine.style_attributes["node"])
    node_styles["transient"] = (
        {"fill": "#fff3cd", "stroke": "#b58900"}
        if engine == "mermaid"
        else {"style": "filled", "fillcolor": "#fff3cd", "color": "#b58900"}
    )
    return machine


def _rendered(spec: Spec, engine: Engine) -> Any:
    """transitions' graph of the spec's machine: ``str`` source for Mermaid, a ``Digraph``."""
    machine = _graph_machine(spec, engine)
    machine.get_graph()  # builds the model's graph object, styled "active" at the initial state
    graph = machine.model_graphs[id(machine)]
    graph.reset_styling()  # a diagram of the machine, not of one runner in its initial state
    for state in spec.states:
        if state.transient:
            graph.set_node_style(state.name, "transient")
    return graph.get_graph(title=spec.machine)


def _mermaid(spec: Spec) -> str:
    text = str(_rendered(spec, "mermaid").source).rstrip("\n")
    finals = [f"  {state.name} --> [*]" for state in spec.states if state.final]
    return "\n".join([text, *finals]) + "\n"


def _dot(spec: Spec) -> Any:
    require("exo-spec diagram --format dot", "diagram")
    digraph = _rendered(spec, "graphviz")
    for state in spec.states:
        if state.final:
            digraph.node(state.name, peripheries="2")
    return digraph


def draw(spec: Spec, fmt: Format) -> str:
    """The diagram of ``spec`` as Mermaid or DOT text, or an SVG document."""
    if fmt == "mermaid":
        return _mermaid(spec)
    digraph = _dot(spec)
    if fmt == "dot":
        return str(digraph.source)
    if shutil.which("dot") is None:
        raise DiagramError(
            "SVG needs Graphviz's `dot` program, which is not on PATH: install Graphviz "
            "(apt install graphviz, brew install graphviz), or write --format dot and render it "
            "elsewhere"
        )
    svg: bytes = digraph.pipe(format="svg")
    return svg.decode("utf-8")
