"""The generated machine is a real transitions Machine: transitions' own diagram extension
draws it from its introspection (the Mermaid backend needs no graphviz)."""

from __future__ import annotations

from transitions import Machine
from transitions.extensions.diagrams import GraphMachine

from exo_spec.conformance.scripted_engine import ScriptedEngine
from exo_spec.runtime.engine_protocol import ModelRef
from exo_spec.runtime.runner import Runner
from exo_spec.runtime.wire import BoundInstance, InstanceId, RunnerContext, RunnerId
from exo_spec.spec import Spec


def test_transitions_draws_the_generated_machine(runner_spec: Spec) -> None:
    context = RunnerContext(
        RunnerId("r"), BoundInstance(InstanceId("i"), ModelRef("a/b")), "/tmp/m", "/tmp/m/a--b"
    )
    machine = Runner(context, ScriptedEngine(), lambda _: None).machine
    assert isinstance(machine, Machine)
    edges = [
        {"trigger": name, "source": t.source, "dest": t.dest}
        for name, event in machine.events.items()
        for transitions in event.transitions.values()
        for t in transitions
    ]
    graph = GraphMachine(
        states=list(machine.states),
        transitions=edges,
        initial=machine.state,
        graph_engine="mermaid",
        auto_transitions=False,
    )
    text = graph.get_graph().draw(None)
    assert "stateDiagram-v2" in text
    for state in runner_spec.states:
        assert f'state "{state.name}" as {state.name}' in text
    for rule in runner_spec.rules:
        first_leg = rule.via or rule.target
        if first_leg != rule.source:
            assert f"{rule.source} --> {first_leg}: {rule.task}" in text, rule
