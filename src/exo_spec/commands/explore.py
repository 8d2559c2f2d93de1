"""``exo-spec explore``: model-check N runners of one instance, their supervisors, the node's
planner and injected faults, from the spec. Exit 0 clean, 1 on a broken invariant, 2 when the
spec cannot be read. Findings are ``EXS7xx`` codes in any ``--format``; the text format
follows each with its shortest trace."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exo_spec.check.report import FORMATS, render
from exo_spec.commands.common import ExitCode, add_report_options, add_spec_option
from exo_spec.spec.codes import selected

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_option(parser)
    parser.add_argument("--runners", type=int, default=1, help="ranks of the instance")
    parser.add_argument("--faults", default="", help="crash,stall,raise,peer-lost (default: none)")
    parser.add_argument("--fault-budget", type=int, default=1, help="faults per run")
    parser.add_argument("--max-restarts", type=int, default=1, help="the supervisor's budget")
    parser.add_argument("--max-states", type=int, default=2_000_000)
    parser.add_argument("--weights", action="store_true", help="the model is on disk already")
    parser.add_argument(
        "--chats",
        type=int,
        default=0,
        help="ChatCompletions the node may submit to each rank, each cancellable once",
    )
    parser.add_argument("--no-delete", action="store_true", help="never delete the instance")
    parser.add_argument(
        "--replay-dir",
        type=Path,
        default=None,
        help="also write each finding's replay test there (test_replay_<code>.py)",
    )
    add_report_options(parser, FORMATS)


def run(args: argparse.Namespace) -> int:
    from exo_spec.commands.common import load_spec_option
    from exo_spec.explore import ExploreConfig, explore, findings, render_trace
    from exo_spec.explore.replay import replay_test
    from exo_spec.explore.report import statistics

    spec = load_spec_option(args)
    if spec is None:
        return ExitCode.USAGE
    if args.chats < 0:
        sys.stderr.write("exo-spec explore: --chats must be at least 0\n")
        return ExitCode.USAGE
    if args.runners < 1:
        sys.stderr.write("exo-spec explore: --runners must be at least 1\n")
        return ExitCode.USAGE
    try:
        config = ExploreConfig(
            spec,
            runners=args.runners,
            faults=tuple(f for f in args.faults.split(",") if f),
            fault_budget=args.fault_budget,
            max_restarts=args.max_restarts,
            max_states=args.max_states,
            weights=args.weights,
            chats=args.chats,
            delete=not args.no_delete,
        )
    except ValueError as exc:
        sys.stderr.write(f"exo-spec explore: {exc}\n")
        return ExitCode.USAGE
    result = explore(config)
    found = [d for d in findings(result) if selected(d.code, args.select, args.ignore)]
    out, err = render(found, args.fmt, ("explore",))
    if args.fmt == "text":
        traces = {v.code: render_trace(v) for v in result.violations}
        replays = {v.code: _indent(replay_test(config, v)) for v in result.violations}
        out = "".join(
            f"{d}\n{traces.get(d.code, '')}"
            + (f"  replay (pytest):\n{replays[d.code]}\n" if d.code in replays else "")
            for d in found
        )
    if args.replay_dir is not None:
        args.replay_dir.mkdir(parents=True, exist_ok=True)
        for v in result.violations:
            if selected(v.code, args.select, args.ignore):
                path = args.replay_dir / f"test_replay_{v.code.lower()}.py"
                path.write_text(replay_test(config, v), encoding="utf-8")
    sys.stdout.write(out)
    sys.stderr.write(statistics(result) + "\n" + err)
    errors = [d for d in found if d.severity == "error"]
    return ExitCode.FINDINGS if errors else ExitCode.OK


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" if line else "\n" for line in text.splitlines())
