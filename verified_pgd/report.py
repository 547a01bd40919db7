"""The report of ``vpgd run``: results.json, report.md, report.html and a terminal summary.

``results.json`` follows the schema documented in docs/report-schema.md
(:data:`SCHEMA` names its version; :func:`check_results` validates a document against
it).  It holds no timestamps or timings, so the same configuration and seed give the
same file, byte for byte.  Every file is written atomically (temporary file in the
output directory, then ``os.replace``).
"""
from __future__ import annotations

import base64
import html
import json
import math
import numbers
import re
from pathlib import Path

from .store import atomic_write

SCHEMA = "verified_pgd.report/1"

_SECTION_KEYS = {"id": str, "title": str, "text": str, "summary": dict, "table": dict,
                 "figures": list, "data": dict, "notes": list}


def plain(x):
    """JSON-ready copy: numpy scalars to Python, tuples to lists, NaN/inf to None."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        return plain(x.tolist())
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    return x


def _check_finite_summaries(sections) -> None:
    """A headline number that is inf/NaN means the run overflowed (e.g. a barrier of a
    teacher too large for float64): refuse to write a report that shows it as a result."""
    for sec in sections:
        for key, value in sec.summary.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                if isinstance(v, numbers.Real) and not math.isfinite(v):
                    raise ValueError(f"report: {sec.id}.{key} is {v} (float64 overflow or a "
                                     "failed run); not writing a report with it — rescale "
                                     "the problem")


def build(conf: dict, problem, sections, *, quick: bool) -> dict:
    """The results.json document."""
    from . import __version__
    _check_finite_summaries(sections)
    return plain({"schema": SCHEMA, "vpgd_version": __version__, "quick": bool(quick),
            "seed": conf["seed"], "config": conf,
            "problem": {"w_star": [float(x) for x in problem.w_star],
                        "a_star": [float(x) for x in problem.a_star],
                        "p": problem.p, "k": problem.k, "s": float(problem.s)},
            "experiments": [s.to_dict() for s in sections]})


def check_results(doc) -> None:
    """Raise ValueError (naming the offending path) unless ``doc`` follows the schema."""
    def need(cond, path, msg):
        if not cond:
            raise ValueError(f"results.json: {path}: {msg}")
    need(isinstance(doc, dict), "$", "must be an object")
    for key, typ in (("schema", str), ("vpgd_version", str), ("quick", bool), ("seed", int),
                     ("config", dict), ("problem", dict), ("experiments", list)):
        need(key in doc, key, "is required")
        need(isinstance(doc[key], typ), key, f"must be of type {typ.__name__}")
    need(doc["schema"] == SCHEMA, "schema", f"must be {SCHEMA!r}")
    prob = doc["problem"]
    for key in ("w_star", "a_star"):
        need(isinstance(prob.get(key), list) and all(isinstance(x, float) for x in prob[key]),
             f"problem.{key}", "must be an array of numbers")
    for key in ("p", "k"):
        need(isinstance(prob.get(key), int), f"problem.{key}", "must be an integer")
    need(prob["p"] == len(prob["w_star"]) and prob["k"] == len(prob["a_star"]), "problem",
         "p, k must match the vector lengths")
    ids = []
    for i, sec in enumerate(doc["experiments"]):
        path = f"experiments[{i}]"
        need(isinstance(sec, dict), path, "must be an object")
        for key, typ in _SECTION_KEYS.items():
            need(key in sec, f"{path}.{key}", "is required")
            need(isinstance(sec[key], typ), f"{path}.{key}", f"must be of type {typ.__name__}")
        need(re.fullmatch(r"e[1-7]", sec["id"]) is not None, f"{path}.id", "must be e1..e7")
        ids.append(sec["id"])
        tab = sec["table"]
        need(isinstance(tab.get("columns"), list) and isinstance(tab.get("rows"), list),
             f"{path}.table", "must have arrays 'columns' and 'rows'")
        for j, row in enumerate(tab["rows"]):
            need(isinstance(row, list) and len(row) == len(tab["columns"]),
                 f"{path}.table.rows[{j}]", "must have one cell per column")
        for j, fig in enumerate(sec["figures"]):
            need(isinstance(fig, dict) and isinstance(fig.get("file"), str)
                 and fig["file"].endswith(".png") and "/" not in fig["file"]
                 and isinstance(fig.get("caption"), str),
                 f"{path}.figures[{j}]", "must be {file: '<name>.png', caption: str}")
        for key, value in sec["summary"].items():
            need(value is None or isinstance(value, (bool, int, float, str, list)),
                 f"{path}.summary.{key}", "must be a JSON scalar or array")
    need(len(set(ids)) == len(ids), "experiments", "ids must be unique")
    need(ids == sorted(ids), "experiments", "must be in order e1..e7")


# --------------------------------------------------------------------------- rendering

def _cell(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.4g}" if math.isfinite(x) else str(x)
    if isinstance(x, list):
        return "[" + ", ".join(_cell(v) for v in x) + "]"
    return str(x)


_TEX = [(r"\varepsilon", "ε"), (r"\theta", "θ"), (r"\sigma", "σ"), (r"\Delta", "Δ"),
        (r"\pi", "π"), (r"\propto", "∝"), (r"\log", "log"), (r"\min", "min")]


def _math_to_html(tex: str) -> str:
    for src, uni in _TEX:
        tex = tex.replace(src, uni)
    tex = re.sub(r"\^\{([^}]*)\}", r"<sup>\1</sup>", tex)
    tex = re.sub(r"_\{([^}]*)\}", r"<sub>\1</sub>", tex)
    tex = re.sub(r"_([A-Za-z0-9])", r"<sub>\1</sub>", tex)
    tex = re.sub(r"\^([A-Za-z0-9*])", r"<sup>\1</sup>", tex)
    return tex.replace("{", "").replace("}", "")


def _tex_to_html(text: str) -> str:
    """The small Markdown subset the sections use: $math$, `code`, *emphasis*."""
    out = []
    for i, part in enumerate(html.escape(text, quote=False).split("$")):
        if i % 2:
            out.append(_math_to_html(part))
        else:
            part = re.sub(r"`([^`]+)`", r"<code>\1</code>", part)
            out.append(re.sub(r"\*([^*]+)\*", r"<em>\1</em>", part))
    return "".join(out)


def _md_escape(x: str) -> str:
    return x.replace("|", "\\|")


def markdown(doc: dict) -> str:
    p = doc["problem"]
    lines = ["# verified_pgd report", "",
             f"vpgd {doc['vpgd_version']} · seed {doc['seed']}"
             f"{' · quick run' if doc['quick'] else ''} · teacher p = {p['p']}, k = {p['k']}, "
             f"s = {_cell(p['s'])}, a* = {_cell(p['a_star'])}", "",
             "Machine-readable results: `results.json` (schema: docs/report-schema.md). "
             "HTML version with embedded figures: `report.html`.", ""]
    for sec in doc["experiments"]:
        lines += [f"## {sec['title']}", "", sec["text"], ""]
        for note in sec["notes"]:
            lines += [f"> {note}", ""]
        for fig in sec["figures"]:
            lines += [f"![{fig['caption']}]({fig['file']})", "", f"*{fig['caption']}*", ""]
        tab = sec["table"]
        if tab["columns"]:
            lines.append("| " + " | ".join(_md_escape(c) for c in tab["columns"]) + " |")
            lines.append("|" + "---|" * len(tab["columns"]))
            for row in tab["rows"]:
                lines.append("| " + " | ".join(_md_escape(_cell(c)) for c in row) + " |")
            lines.append("")
    return "\n".join(lines)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}h1{border-bottom:2px solid #ddd}h2{margin-top:2em;border-bottom:1px solid #eee}
table{border-collapse:collapse;font-size:.9em;margin:1em 0}td,th{border:1px solid #ccc;
padding:.25em .6em;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}
.note{background:#fff8e0;padding:.5em 1em;border-left:3px solid #e0b000}"""


def html_report(doc: dict, out_dir) -> str:
    p = doc["problem"]
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             "<title>verified_pgd report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>verified_pgd report</h1>",
             f"<p>vpgd {html.escape(doc['vpgd_version'])} · seed {doc['seed']}"
             f"{' · quick run' if doc['quick'] else ''} · teacher p = {p['p']}, k = {p['k']}, "
             f"s = {_cell(p['s'])}, a* = {html.escape(_cell(p['a_star']))}</p>"]
    for sec in doc["experiments"]:
        parts.append(f"<h2 id='{sec['id']}'>{_tex_to_html(sec['title'])}</h2>")
        parts.append(f"<p>{_tex_to_html(sec['text'])}</p>")
        for note in sec["notes"]:
            parts.append(f"<p class='note'>{_tex_to_html(note)}</p>")
        for fig in sec["figures"]:
            data = base64.b64encode((Path(out_dir) / fig["file"]).read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(fig['caption'])}' "
                         f"src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(fig['caption'])}</figcaption></figure>")
        tab = sec["table"]
        if tab["columns"]:
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>"
                                                 for c in tab["columns"]) + "</tr>")
            for row in tab["rows"]:
                parts.append("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in row)
                             + "</tr>")
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def summary_table(doc: dict) -> str:
    """The terminal summary: one line per headline number."""
    rows = []
    for sec in doc["experiments"]:
        for key, value in sec["summary"].items():
            rows.append((sec["id"], key, _cell(value)))
        for note in sec["notes"]:
            rows.append((sec["id"], "note", note))
    w0 = max([len("exp")] + [len(r[0]) for r in rows])
    w1 = max([len("quantity")] + [len(r[1]) for r in rows])
    out = [f"{'exp'.ljust(w0)}  {'quantity'.ljust(w1)}  value",
           f"{'-' * w0}  {'-' * w1}  {'-' * 5}"]
    out += [f"{a.ljust(w0)}  {b.ljust(w1)}  {c}" for a, b, c in rows]
    return "\n".join(out)


def results_json(doc: dict) -> str:
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def write(doc: dict, out_dir) -> list:
    """Validate ``doc`` and write results.json, report.md, report.html; returns the paths.

    The figures must already be in ``out_dir`` (the experiments write them).
    """
    check_results(doc)
    out_dir = Path(out_dir)
    files = [("results.json", results_json(doc)), ("report.md", markdown(doc)),
             ("report.html", html_report(doc, out_dir))]
    for name, text in files:
        atomic_write(out_dir / name, text)
    return [out_dir / name for name, _ in files]
