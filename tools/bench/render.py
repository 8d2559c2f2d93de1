"""Render BENCHMARKS.md and the linter scaling plot (SVG, written by hand) from results.json.

    python tools/bench/render.py [tools/bench/results.json] [--markdown BENCHMARKS.md]

The output depends on the results file only, so the committed Markdown can be checked
against the committed results.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from history import Verdict, verdict

SVG_NAME = "linter_scaling.svg"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

GPU_RECIPE = """\
No GPU was available to the run above, so there are no GPU figures here (none are estimated).
To measure the same streaming benchmark on a Linux machine with an NVIDIA GPU (MLX 0.32.4 with
its CUDA build):

1. Into the project's environment, add MLX's CUDA build of the locked version:
   `pip install mlx==0.32.4 mlx-cuda-13==0.32.4` (or from wheels downloaded elsewhere, with
   `--no-index`), and check that `python -c "import mlx.core as mx;
   print(mx.default_device())"` prints `Device(gpu, 0)`.
2. Run `python tools/bench/bench_stream.py --out stream-gpu.json` (it streams from the embedded
   tiny model; the script has no option yet for another model, such as an 8B-shaped one).
3. Fold the JSON into `results.json` as a `stream-gpu` entry and re-render this file.
"""


def _num(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    v = float(value)
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _ratio(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "—"


def _absolute(m: dict[str, Any]) -> bool:
    """Whether ``m``'s target bounds its median itself (in its unit), not its ratio."""
    return bool((m.get("target") or {}).get("of") == "median")


def _target(m: dict[str, Any]) -> str:
    t = m.get("target")
    if not t:
        return "—"
    unit = f" {m['unit']}" if _absolute(m) else ""
    return f"{'≤' if t['op'] == '<=' else '≥'} {t['value']:g}{unit}"


def _bounded(m: dict[str, Any], value: object) -> str:
    """A figure a target bounds: a ratio, or a value in ``m``'s unit for an absolute target."""
    if _absolute(m) and isinstance(value, int | float):
        return f"{_num(value)} {m['unit']}"
    return _ratio(value)


def _met(v: Verdict) -> str:
    """The verdict over every recorded run of the commit: missed when any run missed."""
    if v.met is None:
        return "—"
    runs = f"{v.runs} run{'s' if v.runs != 1 else ''}"
    return f"yes ({runs})" if v.met else f"**MISSED** ({v.missed} of {runs})"


def _spread(v: Verdict, m: dict[str, Any] | None = None) -> str:
    if not v.ratios:
        return "—"
    lo, hi = min(v.ratios), max(v.ratios)
    if m is not None and _absolute(m):
        return _bounded(m, lo) if lo == hi else f"{_num(lo)}–{_bounded(m, hi)}"
    return _ratio(lo) if lo == hi else f"{_ratio(lo)}–{_ratio(hi)}"


def _commit(results: dict[str, Any], bench: dict[str, Any]) -> str | None:
    commit = bench.get("commit") or results["machine"].get("commit")
    return str(commit) if commit else None


def _verdict(results: dict[str, Any], bench: dict[str, Any], m: dict[str, Any]) -> Verdict:
    return verdict(results.get("history", []), _commit(results, bench), bench["name"], m)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def metric_table(results: dict[str, Any], bench: dict[str, Any]) -> list[str]:
    lines = [
        "| metric | unit | min | median | max | baseline | ratio (median) | ratio (best) "
        "| target | met? |",
        "|---|---|---:|---:|---:|---|---:|---:|---|---|",
    ]
    baselines = {m["baseline"] for m in bench["metrics"]}
    for m in bench["metrics"]:
        base = m["baseline"]
        name = _cell(m["name"]) + (f" ({_cell(m['note'])})" if m.get("note") else "")
        role = _cell(base) if base else "*baseline*" if m["name"] in baselines else "—"
        lines.append(
            f"| {name} | {m['unit']} | {_num(m['min'])} | {_num(m['median'])} | "
            f"{_num(m.get('max'))} | {role} | "
            f"{_ratio(m['ratio'])} | {_ratio(m['ratio_best'])} | {_target(m)} | "
            f"{_met(_verdict(results, bench, m))} |"
        )
    return lines


def _details(bench: dict[str, Any]) -> list[str]:
    d = bench.get("details") or {}
    out: list[str] = []
    name = bench["name"]
    if name == "machine" and "profile" in d:
        p = d["profile"]
        shares = ", ".join(f"{k} {v:.0%}" for k, v in p["own_time_share_by_place"].items())
        out += [
            f"Where one dispatch spends its time (cProfile, {p['dispatches']:,} dispatches; "
            f"own time by place): {shares}.",
            "",
            "| function | place | calls per dispatch | own time | cumulative |",
            "|---|---|---:|---:|---:|",
        ]
        for row in p["top_functions"]:
            if row["own_share"] < 0.005:
                continue
            out.append(
                f"| `{_cell(row['function'])}` | {row['group']} | {row['calls_per_dispatch']:g} "
                f"| {row['own_share']:.1%} | {row['cumulative_share']:.1%} |"
            )
        out.append("")
    if name == "imports":
        for label, info in d.items():
            slow = ", ".join(
                f"`{r['module']}` {r['us'] / 1000:.0f} ms" for r in info["slowest_cumulative_us"]
            )
            out.append(f"- `{label}`: {info['modules']} modules; slowest (cumulative): {slow}.")
        out.append("")
    if name == "stream" and "sides" in d:
        out.append("Decode rate from the median gap between consecutive tokens (all runs):")
        out.append("")
        for side, info in d["sides"].items():
            out.append(
                f"- {side}: {_num(info['decode_tok_s_from_median_gap'])} tok/s "
                f"({', '.join(map(str, info['tokens']))} tokens per run)"
            )
        out.append("")
    if name == "check" and d.get("scaling"):
        out += [f"![linter scaling, log-log](tools/bench/{SVG_NAME})", ""]
    if name == "suites":
        conf = d.get("conformance", {})
        if conf.get("measured") is False:
            out += [f"Conformance run: not measured ({conf.get('reason')}).", ""]
    return out


def _load_line(load: dict[str, Any]) -> str:
    if load.get("status") != "ok":
        return f"Under load: did not run ({load.get('error')})."
    return (
        f"Under load: the *under load* rows were measured in a second run of the same script "
        f"with {load.get('competitor', 'a CPU-bound competitor')} ({load['wall_s']:.0f} s)."
    )


def render_markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    benches = results["benchmarks"]
    lines = [
        "# Benchmarks",
        "",
        "<!-- Rendered by tools/bench/render.py from tools/bench/results.json; do not edit. -->",
        "",
        "Every figure is compared with a baseline measured in the same run, on the same "
        "machine, so the ratios carry over between machines better than the absolute "
        "numbers do. Each benchmark runs several repetitions (interleaved where two sides "
        "compete) and reports the minimum, the median and the maximum (— where the script "
        "reports no maximum); *ratio (median)* is the median over the baseline's median, "
        "*ratio (best)* the best run over the baseline's best run (the minimum for times, the "
        "maximum for rates). A target bounds the median ratio, and it is **MISSED** when the "
        "median misses it in any recorded run of the same commit (`history` in results.json), "
        "not only in the latest one; *runs at this commit* gives the spread of the median "
        "ratio over those runs. Figures marked *under load* were measured with a CPU-bound "
        "competitor pinned to one core (`run.py --load`), beside the quiet ones.",
        "",
        f"Run of {m['date']} at commit `{m['commit']}`"
        + (f"; the full run took {results['wall_s']:.0f} s." if results.get("wall_s") else "."),
        "",
        *(
            ["**Quick smoke run: tiny sizes, not a measurement.**", ""]
            if results.get("quick")
            else []
        ),
        "## How to reproduce",
        "",
        "```",
        "make bench                                   # every benchmark (quiet and under load), then this file",
        "python tools/bench/run.py --only dispatch    # re-measure one, keep the others",
        "python tools/bench/run.py --only stream --load  # and beside a CPU-bound competitor",
        "python tools/bench/run.py --quick            # smoke run into a temp dir (the test)",
        "python tools/bench/render.py                 # re-render this file from results.json",
        "```",
        "",
        "Each benchmark is a script under `tools/bench/` that can run alone (`--help`); the "
        "command of each is listed with its table. Raw JSON and logs go to `tools/bench/out/`.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores"
        + (f" ({m['cores_usable']} usable)" if m.get("cores_usable") else "")
        + "; shared with other work, so expect noise",
        f"- RAM: {m['ram_gib']} GiB",
        f"- OS: {m['os']} (kernel {m['kernel']}, {m['arch']})",
        f"- Python {m['python']}; {versions}",
        f"- GPU: {m['gpu'] or 'none (MLX runs on the CPU)'}",
        "",
        "## Targets",
        "",
        "| benchmark | metric | ratio (median) | ratio (best) | runs at this commit | target "
        "| met? |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for b in benches:
        for metric in b["metrics"]:
            if metric.get("target"):
                v = _verdict(results, b, metric)
                if _absolute(metric):  # the median itself, not a ratio (best: the best run)
                    best = metric["min"] if metric["better"] == "lower" else metric.get("max")
                    figures = f"{_bounded(metric, metric['median'])} | {_bounded(metric, best)}"
                    subject = f"{_cell(metric['name'])} (absolute)"
                else:
                    figures = f"{_ratio(metric['ratio'])} | {_ratio(metric['ratio_best'])}"
                    subject = f"{_cell(metric['name'])} vs {_cell(metric['baseline'])}"
                lines.append(
                    f"| {b['name']} | {subject} | {figures} | "
                    f"{_spread(v, metric)} | {_target(metric)} | {_met(v)} |"
                )
    failed = [b for b in benches if b.get("status") != "ok"]
    for b in failed:
        lines.append(
            f"| {b['name']} | did not run: {_cell(b.get('error') or '?')} | — | — | — | — |"
        )
    lines.append("")
    for b in benches:
        lines += [f"## {b['name']}: {b['title']}", ""]
        at = f", commit `{b['commit']}`" if b.get("commit") else ""
        lines += [f"`{b['command']}` ({b['wall_s']:.0f} s, {b.get('date', '')}{at})", ""]
        if b.get("status") != "ok":
            lines += [f"**Did not run**: {b.get('error')}.", ""]
            continue
        lines += metric_table(results, b)
        lines.append("")
        load = b.get("load")
        if load:
            lines += [_load_line(load), ""]
        lines += [f"- {note}" for note in b.get("notes", [])]
        if b.get("notes"):
            lines.append("")
        lines += _details(b)
    missed = [
        (b, x, v)
        for b in benches
        for x in b["metrics"]
        if x.get("target") and (v := _verdict(results, b, x)).met is False
    ]
    lines += ["## Missed targets", ""]
    if not missed:
        lines += ["None in the recorded runs of these commits.", ""]
    for b, x, v in missed:
        why = x.get("if_missed") or "not analysed yet."
        lines += [
            f"- **{b['name']} / {x['name']}**: missed in {v.missed} of {v.runs} runs at this "
            f"commit (median {'figures' if _absolute(x) else 'ratios'} {_spread(v, x)}, "
            f"latest {_bounded(x, x['median'] if _absolute(x) else x['ratio'])}) against a "
            f"target of {_target(x)}. {why}",
        ]
    if missed:
        lines.append("")
    lines += ["## GPU", "", GPU_RECIPE]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- the plot ----------------------------------------------------------------------------------

W, H, LEFT, RIGHT, TOP, BOTTOM = 520, 320, 70, 20, 30, 50


def _decades(lo: float, hi: float) -> tuple[int, int]:
    return math.floor(math.log10(lo)), math.ceil(math.log10(hi))


def _label_states(exp: int) -> str:
    return f"{10**exp:,}"


def _label_seconds(exp: int) -> str:
    s = 10.0**exp
    return f"{s * 1000:g} ms" if s < 1 else f"{s:g} s"


def render_svg(results: dict[str, Any]) -> str | None:
    """The linter's scaling curve, log-log; ``None`` when there are no scaling results."""
    check = next((b for b in results["benchmarks"] if b["name"] == "check"), None)
    rows = (check or {}).get("details", {}).get("scaling") or []
    if len(rows) < 2:
        return None
    xs = [float(r["states"]) for r in rows]
    med = [float(r["median_s"]) for r in rows]
    mins = [float(r["min_s"]) for r in rows]
    x0, x1 = _decades(min(xs), max(xs))
    y0, y1 = _decades(min(mins), max(med))
    if x1 == x0:
        x1 += 1
    if y1 == y0:
        y1 += 1
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (math.log10(x) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + ph - (math.log10(y) - y0) / (y1 - y0) * ph

    slope = check["details"].get("loglog_slope") if check else None
    title = "exo-spec lint time vs spec size (log-log)"
    if isinstance(slope, int | float):
        title += f", slope {slope:.2f}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2:.0f}" y="18" text-anchor="middle" font-size="13">{title}</text>',
    ]
    for e in range(x0, x1 + 1):
        x = px(10.0**e)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + ph}" stroke="#ddd"/>')
        out.append(
            f'<text x="{x:.1f}" y="{TOP + ph + 16}" text-anchor="middle">{_label_states(e)}</text>'
        )
    for e in range(y0, y1 + 1):
        y = py(10.0**e)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_label_seconds(e)}</text>'
        )
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, med, strict=True))
    out.append(f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for x, y, lo in zip(xs, med, mins, strict=True):
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="#1f77b4"/>')
        out.append(
            f'<circle cx="{px(x):.1f}" cy="{py(lo):.1f}" r="3.5" fill="none" stroke="#ff7f0e"/>'
        )
    out += [
        f'<text x="{LEFT + pw / 2:.0f}" y="{H - 10}" text-anchor="middle">states in the spec</text>',
        f'<text x="16" y="{TOP + ph / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 16 {TOP + ph / 2:.0f})">seconds per lint</text>',
        f'<circle cx="{LEFT + 12}" cy="{TOP + 12}" r="3.5" fill="#1f77b4"/>',
        f'<text x="{LEFT + 20}" y="{TOP + 16}">median</text>',
        f'<circle cx="{LEFT + 72}" cy="{TOP + 12}" r="3.5" fill="none" stroke="#ff7f0e"/>',
        f'<text x="{LEFT + 80}" y="{TOP + 16}">min</text>',
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=HERE / "results.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--svg", type=Path, default=HERE / SVG_NAME)
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{args.results}: cannot read results: {exc}", file=sys.stderr)
        return 2
    args.markdown.write_text(render_markdown(results), encoding="utf-8")
    svg = render_svg(results)
    if svg is not None:
        args.svg.write_text(svg, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
