"""vpgd sweep: a grid of PGD runs with a resumable SQLite store."""
from __future__ import annotations

HELP = "run a grid of PGD tasks from a TOML file into a resumable SQLite store"
DESCRIPTION = (
    "Expand CONFIG (a base [task] and a [grid] of values, see docs/running.md) into tasks, "
    "one per grid point and replicate, each with its own seed. Every finished task is "
    "committed to the SQLite store (--db) in its own transaction; --resume skips finished "
    "tasks after an interruption. Results do not depend on --workers or --dask. At the end "
    "the results are exported (atomically) to --out as JSON and summarized.")


def add_arguments(parser):
    parser.add_argument("config", metavar="CONFIG", help="sweep TOML file")
    parser.add_argument("--db", metavar="PATH", help="SQLite store (default: CONFIG stem + .sqlite)")
    parser.add_argument("--out", metavar="FILE",
                        help="results JSON (default: CONFIG stem + -results.json)")
    parser.add_argument("--resume", action="store_true",
                        help="continue a store that already holds finished tasks")
    parser.add_argument("--workers", metavar="N", type=int, default=1,
                        help="local worker processes (default 1)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="Dask scheduler address, or 'local' for a LocalCluster on loopback")
    parser.add_argument("--quiet", action="store_true",
                        help="no summary table and no progress bar (the bar is drawn on "
                             "stderr only when it is a terminal)")


def export(sweep: dict, tasks: list, results: list) -> dict:
    from ..store import config_hash, task_key
    return {"schema": "verified_pgd.sweep/1", "seed": sweep["seed"],
            "replicates": sweep["replicates"],
            "axes": [{"path": p, "values": v} for p, v in sweep["axes"]],
            "tasks": [{"key": task_key(t), "config_hash": config_hash(t), "seed": t["seed"],
                       "task": t, "result": r} for t, r in zip(tasks, results)]}


def summary_rows(sweep, tasks, results):
    """One row per grid point: axis values, chains, final eps-success rate, median theta."""
    import numpy as np
    from ..store import config_hash
    groups = {}
    for t, r in zip(tasks, results):
        g = groups.setdefault(config_hash(t), {"task": t, "ok": 0, "n": 0, "theta": []})
        eps = t["solver"]["eps"]
        for th, ae in zip(r["theta"], r["a_error"]):
            g["n"] += 1
            g["ok"] += th is not None and ae is not None and th <= eps and ae <= eps
            g["theta"].append(np.inf if th is None else th)
    rows = []
    for g in groups.values():
        vals = []
        for path, _ in sweep["axes"]:
            x = g["task"]
            for part in path.split("."):
                x = x.get(part) if isinstance(x, dict) else None
            vals.append(x)
        rows.append(vals + [g["n"], g["ok"] / g["n"], float(np.median(g["theta"]))])
    return [p for p, _ in sweep["axes"]] + ["chains", "success", "median theta"], rows


def main(args) -> int:
    import json
    from pathlib import Path
    from .. import config as cfg
    from ..store import Store, atomic_write
    from ..sweep import expand, run_tasks
    if args.workers < 1:
        raise ValueError(f"--workers: must be >= 1, got {args.workers}")
    sweep = cfg.load_sweep(args.config)
    tasks = expand(sweep)
    stem = Path(args.config).stem
    db = Path(args.db) if args.db else Path(f"{stem}.sqlite")
    out = Path(args.out) if args.out else Path(f"{stem}-results.json")
    if out.parent and not out.parent.is_dir():
        raise OSError(f"--out: directory {out.parent} does not exist")
    with Store(db) as store:
        done = store.count()
        if done and not args.resume:
            raise ValueError(f"--db: {db} already holds {done} finished task(s); pass --resume "
                             "to continue it, or choose another --db")
        results = run_tasks(tasks, workers=args.workers, dask=args.dask, store=store,
                            desc="vpgd sweep", progress=not args.quiet)
    atomic_write(out, json.dumps(export(sweep, tasks, results), indent=1, allow_nan=False) + "\n")
    if not args.quiet:
        from ..report import _cell
        cols, rows = summary_rows(sweep, tasks, results)
        table = [cols] + [[_cell(c) for c in r] for r in rows]
        widths = [max(len(str(r[i])) for r in table) for i in range(len(cols))]
        for j, r in enumerate(table):
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
            if j == 0:
                print("  ".join("-" * w for w in widths))
        print(f"\n{len(tasks)} tasks, all recorded in {db}; results: {out}")
    return 0
