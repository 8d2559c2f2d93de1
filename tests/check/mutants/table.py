"""The mutant table: (name, why, edits of spec/runner.yaml, expected codes, known extra codes)."""

from __future__ import annotations

from attrs import frozen

__all__ = ["MUTANTS", "Mutant"]


@frozen
class Mutant:
    name: str
    why: str
    edits: tuple[tuple[str, str], ...]
    expect: frozenset[str]
    extra: frozenset[str] = frozenset()
    seed: str | None = None


def m(
    name: str,
    why: str,
    edits: list[tuple[str, str]],
    expect: str,
    extra: str = "",
    seed: str | None = None,
) -> Mutant:
    return Mutant(
        name, why, tuple(edits), frozenset(expect.split()), frozenset(extra.split()), seed
    )


DOWNLOAD_RULES = (
    "    - {from: [idle, failed], via: downloading, do: download, to: idle}\n"
    "    - {from: connected, via: downloading, do: download, to: connected}\n"
)
LOAD_CONNECTED = (
    "    - {from: connected, when: has_group and weights_present, via: loading, do: load, "
    "to: loaded}\n"
)
LOAD_IDLE = (
    "    - {from: idle, when: not has_group and weights_present, via: loading, do: load, "
    "to: loaded}\n"
)
WARMUP = "    - {from: loaded, via: warming_up, do: warmup, to: ready}\n"
SHUTDOWN = '    - {from: "*", via: shutting_down, do: shutdown, to: shutdown}\n'
DEFER = "  running: [ChatCompletion, Shutdown]\n"
ACCEPT = "  accept: [TaskStatusUpdated(Running), RunnerStatusUpdated(via), TaskAcknowledged]\n"
SUCCESS = "  success: [TaskStatusUpdated(Complete), RunnerStatusUpdated(to)]\n"
CANCELLED = "  cancelled: [TaskStatusUpdated(Cancelled), RunnerStatusUpdated(to)]\n"
FAILURE = "  failure: [TaskStatusUpdated(Failed), RunnerStatusUpdated(on_error)]\n"
FAILED = "  failed: {status: RunnerFailed}\n"
CONNECT = "    - {from: idle, when: has_group, via: connecting, do: connect, to: connected}\n"

MUTANTS: tuple[Mutant, ...] = (
    # -- schema (reported by the loader) ------------------------------------------------------
    m(
        "schema_unknown_key",
        "a misspelt state key",
        [(FAILED, "  failed: {status: RunnerFailed, timout_s: 3}\n")],
        "EXS002",
    ),
    m(
        "schema_wrong_type",
        "a timeout that is not a number",
        [("timeout_s: 900", "timeout_s: soon")],
        "EXS003",
    ),
    m("schema_missing_initial", "no initial state", [("initial: idle\n", "")], "EXS004"),
    m(
        "schema_bad_machine_name",
        "a machine name that is not an identifier",
        [("machine: runner", "machine: run-ner")],
        "EXS005",
    ),
    m("schema_version", "an unsupported version", [("version: 1", "version: 2")], "EXS006"),
    m(
        "schema_duplicate_state",
        "a state declared twice",
        [(FAILED, FAILED + "  idle: {status: RunnerIdle}\n")],
        "EXS007",
    ),
    m("schema_yaml_syntax", "an unclosed flow list", [("tasks:\n", "tasks: [\n")], "EXS001"),
    m(
        "schema_too_deep",
        "a value nested 70 levels deep",
        [("machine: runner\n", "machine: runner\nnotes: " + "[" * 70 + "]" * 70 + "\n")],
        "EXS008",
    ),
    m(
        "schema_guard_syntax",
        "a dangling 'and'",
        [("when: has_group, via", "when: has_group and, via")],
        "EXS104",
    ),
    m("schema_bad_event", "a misspelt event", [("TaskAcknowledged]", "TaskAcked]")], "EXS106"),
    # -- names --------------------------------------------------------------------------------
    m("unknown_initial", "initial names no state", [("initial: idle", "initial: idel")], "EXS101"),
    m(
        "unknown_to",
        "a misspelt 'to'",
        [(LOAD_CONNECTED, LOAD_CONNECTED.replace("to: loaded", "to: laoded"))],
        "EXS101",
    ),
    m(
        "unknown_via",
        "a misspelt 'via'",
        [("via: warming_up", "via: warmingup")],
        "EXS101",
    ),
    m(
        "unknown_from",
        "a misspelt 'from'",
        [(WARMUP, WARMUP.replace("from: loaded", "from: loadd"))],
        "EXS101",
    ),
    m(
        "unknown_on_error",
        "a misspelt on_error",
        [("on_error: failed", "on_error: faild")],
        "EXS101",
    ),
    m(
        "unknown_defer_state",
        "defer names no state",
        [(DEFER, "  runing: [ChatCompletion, Shutdown]\n")],
        "EXS101",
    ),
    m(
        "unknown_guard",
        "a misspelt guard",
        [("when: has_group, via", "when: has_grup, via")],
        "EXS102",
    ),
    m("unknown_action", "a misspelt action", [("do: warmup", "do: warm_up")], "EXS103"),
    m(
        "unknown_defer_task",
        "defer names no task",
        [(DEFER, "  running: [ChatCompletion, Shutdwn]\n")],
        "EXS105",
    ),
    # -- reachability -------------------------------------------------------------------------
    m(
        "unreachable_state",
        "a state nothing leads to",
        [(FAILED, FAILED + "  orphan: {status: RunnerOrphan}\n")],
        "EXS201",
    ),
    m(
        "seed002_load_only_from_idle",
        "LoadModel has no rule for connected: with a group the model can never load",
        [(LOAD_CONNECTED, "")],
        "EXS202",
        seed="002",
    ),
    m(
        "trap_failed",
        "failed accepts nothing: a failed runner can never shut down",
        [
            (SHUTDOWN, SHUTDOWN.replace('"*"', "[idle, connected, loaded, ready]")),
            ("from: [idle, failed]", "from: idle"),
        ],
        "EXS203",
        "EXS207 EXS218",
    ),
    m(
        "final_with_defer",
        "a final state with a defer",
        [(DEFER, DEFER + "  shutdown: [Shutdown]\n")],
        "EXS204",
        "EXS214",
    ),
    m(
        "transient_no_timeout",
        "a transient state without deadline",
        [("transient: true, timeout_s: 120}", "transient: true}")],
        "EXS205",
    ),
    m(
        "task_nowhere",
        "a task with no rule",
        [("  Shutdown:\n", "  Ping: []\n  Shutdown:\n")],
        "EXS206",
    ),
    m(
        "shutdown_missing_loaded",
        "Shutdown not accepted in loaded",
        [(SHUTDOWN, SHUTDOWN.replace('"*"', "[idle, connected, ready, failed]"))],
        "EXS207",
    ),
    m(
        "shutdown_not_deferred_running",
        "Shutdown neither accepted nor deferred while running",
        [(DEFER, "  running: [ChatCompletion]\n")],
        "EXS207",
    ),
    m(
        "shutdown_guarded",
        "Shutdown only when the weights are present",
        [(SHUTDOWN, SHUTDOWN.replace('from: "*",', 'from: "*", when: weights_present,'))],
        "EXS207",
    ),
    # -- cells --------------------------------------------------------------------------------
    m(
        "overlap_load",
        "two LoadModel rules enabled in connected",
        [
            (
                LOAD_IDLE,
                LOAD_IDLE.replace(
                    "from: idle, when: not has_group and weights_present",
                    "from: [idle, connected], when: weights_present",
                ),
            )
        ],
        "EXS208",
    ),
    m(
        "overlap_download",
        "a second, narrower DownloadModel rule for failed",
        [
            (
                DOWNLOAD_RULES,
                DOWNLOAD_RULES
                + "    - {from: failed, when: weights_present, via: downloading, do: download, to: failed}\n",
            )
        ],
        "EXS208 EXS209",
    ),
    m(
        "never_fires_contradiction",
        "a guard that is always false",
        [("when: has_group, via", "when: has_group and not has_group, via")],
        "EXS209",
        "EXS201 EXS202",
    ),
    m(
        "never_fires_constant",
        "a rule for connected that needs no group, but connected needs one",
        [
            (
                LOAD_CONNECTED,
                LOAD_CONNECTED.replace("when: has_group and", "when: not has_group and"),
            )
        ],
        "EXS209",
        "EXS202",
    ),
    m(
        "never_fires_shadowed",
        "a rule shadowed by an earlier, wider one",
        [
            (
                CONNECT,
                CONNECT + CONNECT.replace("when: has_group", "when: has_group and weights_present"),
            )
        ],
        "EXS209",
        "EXS208",
    ),
    m(
        "deferred_and_accepted",
        "CancelTask both deferred and accepted in running",
        [(DEFER, "  running: [ChatCompletion, Shutdown, CancelTask]\n")],
        "EXS213",
    ),
    m(
        "rule_from_transient",
        "a rule from a non-interruptible transient state",
        [("    - {from: running, do: cancel}", "    - {from: [running, loading], do: cancel}")],
        "EXS214",
    ),
    m(
        "rule_from_final",
        "a rule from a final state",
        [("    - {from: running, do: cancel}", "    - {from: [running, shutdown], do: cancel}")],
        "EXS214",
        "EXS204",
    ),
    m(
        "duplicate_status",
        "two states report RunnerIdle",
        [(FAILED, "  failed: {status: RunnerIdle}\n")],
        "EXS215",
    ),
    m(
        "via_not_transient",
        "a resting state used as via",
        [("via: warming_up", "via: connected")],
        "EXS216",
        "EXS201",
    ),
    m(
        "to_transient",
        "a rule ending in a transient state",
        [(WARMUP, WARMUP.replace("to: ready", "to: warming_up"))],
        "EXS216",
        "EXS201",
    ),
    m("no_on_error", "actions but no on_error", [("on_error: failed\n", "")], "EXS217", "EXS201"),
    m(
        "on_error_final",
        "on_error is a final state",
        [("on_error: failed", "on_error: shutdown")],
        "EXS217",
        "EXS201",
    ),
    m(
        "on_error_transient",
        "on_error is a transient state",
        [("on_error: failed", "on_error: loading")],
        "EXS217",
        "EXS201",
    ),
    # -- the event contract -------------------------------------------------------------------
    m(
        "seed000_no_status_after_success",
        "events.success lacks RunnerStatusUpdated(to): the resting status is never sent",
        [(SUCCESS, "  success: [TaskStatusUpdated(Complete)]\n")],
        "EXS210",
        seed="000",
    ),
    m(
        "no_via_status",
        "events.accept lacks RunnerStatusUpdated(via)",
        [(ACCEPT, "  accept: [TaskStatusUpdated(Running), TaskAcknowledged]\n")],
        "EXS210",
    ),
    m(
        "no_failure_status",
        "events.failure lacks RunnerStatusUpdated(on_error)",
        [(FAILURE, "  failure: [TaskStatusUpdated(Failed)]\n")],
        "EXS210",
    ),
    m(
        "no_cancelled_status",
        "events.cancelled lacks RunnerStatusUpdated(to)",
        [(CANCELLED, "  cancelled: [TaskStatusUpdated(Cancelled)]\n")],
        "EXS210",
    ),
    m(
        "no_complete_status",
        "events.success lacks TaskStatusUpdated(Complete)",
        [(SUCCESS, "  success: [RunnerStatusUpdated(to)]\n")],
        "EXS210",
    ),
    m(
        "no_reject_status",
        "events.reject is empty",
        [("  reject: [TaskStatusUpdated(Failed)]\n", "  reject: []\n")],
        "EXS210",
    ),
    m(
        "no_cancelled_outcome",
        "a cancellable action but no events.cancelled",
        [(CANCELLED, "")],
        "EXS210",
    ),
    # -- unused declarations ------------------------------------------------------------------
    m(
        "unused_guard",
        "a guard no rule uses",
        [("guards:\n", "guards:\n  gpu_free: a GPU is free\n")],
        "EXS211",
    ),
    m(
        "unused_action",
        "an action no rule does",
        [("actions:\n", "actions:\n  unload: {doc: free the weights}\n")],
        "EXS212",
    ),
    # -- dead ends (seed 001) -----------------------------------------------------------------
    m(
        "seed001_download_only_from_idle",
        "DownloadModel has no rule for failed or connected: nothing but Shutdown gets them going",
        [(DOWNLOAD_RULES, "    - {from: idle, via: downloading, do: download, to: idle}\n")],
        "EXS218",
        seed="001",
    ),
    m(
        "seed001_no_download_handler",
        "DownloadModel has no handler at all",
        [("  DownloadModel:\n" + DOWNLOAD_RULES, "")],
        "EXS218",
        "EXS201 EXS212",
        seed="001",
    ),
    m(
        "seed001_download_task_without_rules",
        "DownloadModel is declared but has no rule",
        [("  DownloadModel:\n" + DOWNLOAD_RULES, "  DownloadModel: []\n")],
        "EXS206 EXS218",
        "EXS201 EXS212",
        seed="001",
    ),
)
