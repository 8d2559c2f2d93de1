"""The explanations and examples of the codes about a spec file (``EXS0xx``-``EXS4xx``)."""

from __future__ import annotations

from exo_spec.spec.codes import Example, Explanation

__all__ = ["SPEC_CODES"]

SPEC_CODES: dict[str, Explanation] = {
    "EXS000": Explanation(
        "nothing can be checked or generated from a file that cannot be read",
        "pass the path of an existing, readable spec file",
        Example("fixture", "exo-spec check missing.yaml (a path that does not exist)"),
    ),
    "EXS001": Explanation(
        "a spec that is not valid YAML has no meaning to check",
        "close every bracket and quote; save the file as UTF-8",
        Example(
            "spec",
            "an unclosed flow list",
            edits=(("tasks:\n", "tasks: [\n"),),
            also=(),
        ),
    ),
    "EXS002": Explanation(
        "a misspelt key is silently ignored by most YAML tools and the setting never takes effect",
        "use the key the message suggests (see runner.schema.json)",
        Example(
            "spec",
            "a misspelt state key",
            edits=(
                (
                    "  failed: {status: RunnerFailed}\n",
                    "  failed: {status: RunnerFailed, timout_s: 3}\n",
                ),
            ),
            also=(),
        ),
    ),
    "EXS003": Explanation(
        "a value of the wrong type cannot be given a meaning (a timeout must be a number)",
        "write the value in the type the schema asks for",
        Example(
            "spec",
            "a timeout that is not a number",
            edits=(("timeout_s: 900", "timeout_s: soon"),),
            also=(),
        ),
    ),
    "EXS004": Explanation(
        "without it the machine is incomplete (no initial state, no events, ...)",
        "add the missing key",
        Example(
            "spec",
            "no initial state",
            edits=(("initial: idle\n", ""),),
            also=(),
        ),
    ),
    "EXS005": Explanation(
        "names become Python identifiers in the generated machine",
        "use letters, digits and underscores, not starting with a digit",
        Example(
            "spec",
            "a machine name that is not an identifier",
            edits=(("machine: runner", "machine: run-ner"),),
            also=(),
        ),
    ),
    "EXS006": Explanation(
        "a spec written for another version may mean something else",
        "write version: 1",
        Example(
            "spec",
            "an unsupported version",
            edits=(("version: 1", "version: 2"),),
            also=(),
        ),
    ),
    "EXS007": Explanation(
        "YAML keeps the last of two equal keys, so the first silently disappears",
        "give each state, task, guard and action one entry",
        Example(
            "spec",
            "a state declared twice",
            edits=(
                (
                    "  failed: {status: RunnerFailed}\n",
                    "  failed: {status: RunnerFailed}\n  idle: {status: RunnerIdle}\n",
                ),
            ),
            also=(),
        ),
    ),
    "EXS008": Explanation(
        "a spec is a few kilobytes and a few levels deep; past the bounds (1 MiB, 64 levels, "
        "20,000 YAML nodes once aliases are expanded) the input is an accident or an attack, "
        "and reading it would crash the YAML parser or take minutes and gigabytes",
        "write each state, task and rule out plainly; share little through anchors and aliases",
        Example(
            "spec",
            "a value nested 70 levels deep",
            edits=(("machine: runner", "machine: runner\nnotes: " + "[" * 70 + "]" * 70),),
            also=(),
        ),
    ),
    "EXS101": Explanation(
        "a rule that names no state can never be followed",
        "name a declared state (the message suggests the closest)",
        Example(
            "spec",
            "initial names no state",
            edits=(("initial: idle", "initial: idel"),),
            also=(),
        ),
    ),
    "EXS102": Explanation(
        "an unknown guard has no value, so the rule's condition means nothing",
        "declare the guard under guards:, or fix its spelling",
        Example(
            "spec",
            "a misspelt guard",
            edits=(("when: has_group, via", "when: has_grup, via"),),
            also=(),
        ),
    ),
    "EXS103": Explanation(
        "the runner would have nothing to run for the task",
        "declare the action under actions:, or fix its spelling",
        Example(
            "spec",
            "a misspelt action",
            edits=(("do: warmup", "do: warm_up"),),
            also=(),
        ),
    ),
    "EXS104": Explanation(
        "a guard that does not parse cannot be evaluated",
        "write guards with names, and, or, not and parentheses",
        Example(
            "spec",
            "a dangling 'and'",
            edits=(("when: has_group, via", "when: has_group and, via"),),
            also=(),
        ),
    ),
    "EXS105": Explanation(
        "deferring a task that does not exist queues nothing",
        "name a declared task, or remove it from defer",
        Example(
            "spec",
            "defer names no task",
            edits=(
                (
                    "  running: [ChatCompletion, Shutdown]\n",
                    "  running: [ChatCompletion, Shutdwn]\n",
                ),
            ),
            also=(),
        ),
    ),
    "EXS106": Explanation(
        "the event contract lists what the runner sends; an unknown event cannot be sent",
        "use the event names the message lists",
        Example(
            "spec",
            "a misspelt event",
            edits=(("TaskAcknowledged]", "TaskAcked]"),),
            also=(),
        ),
    ),
    "EXS201": Explanation(
        "a state no rule leads to is dead code that still has to be implemented and tested",
        "add a rule that leads to it, or remove it",
        Example(
            "spec",
            "a state nothing leads to",
            edits=(
                (
                    "  failed: {status: RunnerFailed}\n",
                    "  failed: {status: RunnerFailed}\n  orphan: {status: RunnerOrphan}\n",
                ),
            ),
            also=(),
        ),
    ),
    "EXS202": Explanation(
        "a runner that can never reach a required state (loaded, ready) can never serve",
        "add the rule that reaches it under the listed guard values",
        Example(
            "spec",
            "LoadModel has no rule for connected: with a group the model can never load",
            edits=(
                (
                    "    - {from: connected, when: has_group and weights_present, via: loading, do: load, to: loaded}\n",
                    "",
                ),
            ),
            also=(),
        ),
    ),
    "EXS203": Explanation(
        "a machine in a trap state can never end, though the spec has an end (a machine "
        "with no final state at all cycles for ever, and that is no finding)",
        "add a rule from the state towards a final state",
        Example(
            "spec",
            "failed accepts nothing that ends it",
            edits=(
                (
                    '    - {from: "*", via: shutting_down, do: shutdown, to: shutdown}\n',
                    "    - {from: [idle, connected, loaded, ready], via: shutting_down, "
                    "do: shutdown, to: shutdown}\n",
                ),
                ("from: [idle, failed]", "from: idle"),
            ),
            also=("EXS207", "EXS218"),
        ),
    ),
    "EXS204": Explanation(
        "a final state ends the runner; rules or defers from it can never apply",
        "remove the rule or defer, or make the state non-final",
        Example(
            "spec",
            "a final state with a defer",
            edits=(
                (
                    "  running: [ChatCompletion, Shutdown]\n",
                    "  running: [ChatCompletion, Shutdown]\n  shutdown: [Shutdown]\n",
                ),
            ),
            also=("EXS214",),
        ),
    ),
    "EXS205": Explanation(
        "a transient state without a deadline can hang forever unnoticed",
        "give it timeout_s and/or stall_timeout_s",
        Example(
            "spec",
            "a transient state without deadline",
            edits=(("transient: true, timeout_s: 120}", "transient: true}"),),
            also=(),
        ),
    ),
    "EXS206": Explanation(
        "every task of this kind would be rejected, whatever the state",
        "give the task a rule from a state that handles tasks, or remove it",
        Example(
            "spec",
            "a task with no rule",
            edits=(("  Shutdown:\n", "  Ping: []\n  Shutdown:\n"),),
            also=(),
        ),
    ),
    "EXS207": Explanation(
        "a runner in that state could never be shut down",
        "accept (or, in a transient state, defer) the ending task there",
        Example(
            "spec",
            "Shutdown only when the weights are present",
            edits=(
                (
                    '    - {from: "*", via: shutting_down, do: shutdown, to: shutdown}\n',
                    '    - {from: "*", when: weights_present, via: shutting_down, do: shutdown, to: shutdown}\n',
                ),
            ),
            also=(),
        ),
    ),
    "EXS208": Explanation(
        "two enabled rules make the machine non-deterministic",
        "add a guard that separates the rules",
        Example(
            "spec",
            "two LoadModel rules enabled in connected",
            edits=(
                (
                    "    - {from: idle, when: not has_group and weights_present, via: loading, do: load, to: loaded}\n",
                    "    - {from: [idle, connected], when: weights_present, via: loading, do: load, to: loaded}\n",
                ),
            ),
            also=(),
        ),
    ),
    "EXS209": Explanation(
        "a rule that can never fire is dead code that misleads the reader",
        "fix its guard or its from, or remove it",
        Example(
            "spec",
            "a rule shadowed by an earlier, wider one",
            edits=(
                (
                    "    - {from: idle, when: has_group, via: connecting, do: connect, to: connected}\n",
                    "    - {from: idle, when: has_group, via: connecting, do: connect, to: connected}\n    - {from: idle, when: has_group and weights_present, via: connecting, do: connect, to: connected}\n",
                ),
            ),
            also=("EXS208",),
        ),
    ),
    "EXS210": Explanation(
        "a state change or outcome the runner never reports leaves the coordinator out of date (seed 000)",
        "add the event the message names to the contract",
        Example(
            "spec",
            "events.success lacks RunnerStatusUpdated(to): the resting status is never sent",
            edits=(
                (
                    "  success: [TaskStatusUpdated(Complete), RunnerStatusUpdated(to)]\n",
                    "  success: [TaskStatusUpdated(Complete)]\n",
                ),
            ),
            also=(),
        ),
    ),
    "EXS211": Explanation(
        "a guard no rule reads still has to be bound by every runner",
        "use it in a when, or remove it",
        Example(
            "spec",
            "a guard no rule uses",
            edits=(("guards:\n", "guards:\n  gpu_free: a GPU is free\n"),),
            also=(),
        ),
    ),
    "EXS212": Explanation(
        "an action no rule does still has to be bound by every runner",
        "use it in a do, or remove it",
        Example(
            "spec",
            "an action no rule does",
            edits=(("actions:\n", "actions:\n  unload: {doc: free the weights}\n"),),
            also=(),
        ),
    ),
    "EXS213": Explanation(
        "a cell is one of transition, defer or reject; both is ambiguous",
        "drop the defer or the rule",
        Example(
            "spec",
            "CancelTask both deferred and accepted in running",
            edits=(
                (
                    "  running: [ChatCompletion, Shutdown]\n",
                    "  running: [ChatCompletion, Shutdown, CancelTask]\n",
                ),
            ),
            also=(),
        ),
    ),
    "EXS214": Explanation(
        "a final or non-interruptible transient state handles no tasks, so the rule never applies",
        "move the rule to a state that handles tasks",
        Example(
            "spec",
            "a rule from a non-interruptible transient state",
            edits=(
                (
                    "    - {from: running, do: cancel}",
                    "    - {from: [running, loading], do: cancel}",
                ),
            ),
            also=(),
        ),
    ),
    "EXS215": Explanation(
        "the coordinator cannot tell the states apart by their status",
        "give each state its own status",
        Example(
            "spec",
            "two states report RunnerIdle",
            edits=(("  failed: {status: RunnerFailed}\n", "  failed: {status: RunnerIdle}\n"),),
            also=(),
        ),
    ),
    "EXS216": Explanation(
        "a via state is where the action runs (transient); a to state is where the runner rests",
        "use a transient state for via and a resting state for to",
        Example(
            "spec",
            "a rule ending in a transient state",
            edits=(
                (
                    "    - {from: loaded, via: warming_up, do: warmup, to: ready}\n",
                    "    - {from: loaded, via: warming_up, do: warmup, to: warming_up}\n",
                ),
            ),
            also=("EXS201",),
        ),
    ),
    "EXS217": Explanation(
        "an action that raises needs a resting, non-final state to go to",
        "set on_error to a resting, non-final state",
        Example(
            "spec",
            "actions but no on_error",
            edits=(("on_error: failed\n", ""),),
            also=("EXS201",),
        ),
    ),
    "EXS218": Explanation(
        "a runner there can only be shut down, never moved on (seed 001)",
        "accept a task that moves the runner on from that state",
        Example(
            "spec",
            "DownloadModel has no rule for failed or connected: nothing but Shutdown gets them going",
            edits=(
                (
                    "    - {from: [idle, failed], via: downloading, do: download, to: idle}\n    - {from: connected, via: downloading, do: download, to: connected}\n",
                    "    - {from: idle, via: downloading, do: download, to: idle}\n",
                ),
            ),
            also=(),
        ),
    ),
    "EXS301": Explanation(
        "generated code that does not match the spec behaves differently from it",
        "run exo-spec generate and commit generated/",
        Example(
            "fixture", "exo-spec check after editing the spec without running exo-spec generate"
        ),
    ),
    "EXS302": Explanation(
        "the generated machine would shadow its own API or a Python name",
        "rename the state, task, guard or action",
        Example(
            "spec",
            "an action with the name of a guard (both become one bindings method)",
            edits=(("  cancel: {doc", "  has_group: {doc"), ("do: cancel}", "do: has_group}")),
        ),
    ),
    "EXS303": Explanation(
        "the generated tests check every cell (state x task x 2**guards) and every pair of "
        "consecutive transitions; past 10 guards, 20,000 cells or 2,000 pairs they run to "
        "megabytes and generation to minutes",
        "merge guards that always change together, or split the machine in two",
        Example(
            "spec",
            "nine more guards than the runner needs (eleven in all)",
            edits=(
                (
                    "guards:\n",
                    "guards:\n" + "".join(f"  extra{i}: an unused guard\n" for i in range(9)),
                ),
            ),
            also=("EXS211",),
        ),
    ),
    "EXS401": Explanation(
        "a runner without a guard or action binding fails when the task arrives",
        "implement the named method in the runner's binding",
        Example(
            "fixture",
            "exo-spec check --binding MODULE:OBJECT where the object lacks a guard method",
        ),
    ),
}
