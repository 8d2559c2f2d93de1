"""``exo-spec diagram [SPEC] [--format mermaid|dot|svg] [-o FILE]``: draw a spec's machine.

Mermaid needs nothing beyond the core; DOT needs the ``diagram`` extra (the ``graphviz``
package) and SVG also Graphviz's ``dot`` program. The diagram goes to stdout, or to ``-o FILE``.
Exit codes as ``exo-spec matrix``'s: a spec with findings is still drawn when it loads (1, the
findings on stderr); 2 when it cannot be read, a tool is missing, or FILE cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exo_spec.check.lint import lint_loaded
from exo_spec.check.report import to_text
from exo_spec.commands.common import ExitCode
from exo_spec.spec.loader import load_spec

__all__ = ["add_arguments", "run"]

_FORMATS = ("mermaid", "dot", "svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, default=Path("spec/runner.yaml"))
    parser.add_argument(
        "--format",
        choices=_FORMATS,
        default=None,
        dest="fmt",
        help="mermaid (default), dot (the diagram extra) or svg (also Graphviz's dot program); "
        "by default taken from the -o file's suffix (.mmd, .dot/.gv, .svg)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write the diagram to FILE")


def _format(args: argparse.Namespace) -> str:
    if args.fmt is not None:
        return str(args.fmt)
    suffix = args.output.suffix.lower() if args.output is not None else ""
    return {".dot": "dot", ".gv": "dot", ".svg": "svg"}.get(suffix, "mermaid")


def run(args: argparse.Namespace) -> int:
    from exo_spec.diagram import DiagramError, draw

    result = load_spec(args.path)
    if result.spec is None:
        sys.stderr.write(to_text(result.diagnostics))
        unreadable = any(d.code == "EXS000" for d in result.diagnostics)
        return ExitCode.USAGE if unreadable else ExitCode.FINDINGS
    fmt = _format(args)
    findings = lint_loaded(result)
    try:
        text = draw(result.spec, fmt)  # type: ignore[arg-type]  # one of _FORMATS
    except DiagramError as exc:
        sys.stderr.write(f"exo-spec diagram: error: {exc}\n")
        return ExitCode.USAGE
    except (
        KeyError,
        ValueError,
        AttributeError,
    ):  # a spec too broken to draw: its findings say why
        if not findings:
            raise
        sys.stderr.write(to_text(findings))
        sys.stderr.write("exo-spec diagram: the spec has errors; not drawn\n")
        return ExitCode.FINDINGS
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            sys.stderr.write(f"exo-spec diagram: error: cannot write {args.output}: {exc}\n")
            return ExitCode.USAGE
        sys.stderr.write(f"exo-spec diagram: wrote {args.output} ({fmt})\n")
    if findings:
        sys.stderr.write(to_text(findings))
        return ExitCode.FINDINGS
    return ExitCode.OK
