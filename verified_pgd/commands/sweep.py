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
    from ..sweep import chain_successes
    groups = {}
    for t, r in zip(tasks, results):
        g = groups.setdefault(config_hash(t), {"task": t, "ok": 0, "n": 0, "theta": []})
        for th, ok in zip(r["theta"], chain_successes(r, t["solver"]["eps"])):
            g["n"] += 1
            g["ok"] += ok
            g["theta"].append(np.inf if th is None else th)
        g["diverged"] = g.get("diverged", 0) + int(sum(r.get("diverged", [])))
    rows = []
    for g in groups.values():
        vals = []
        for path, _ in sweep["axes"]:
            x = g["task"]
            for part in path.split("."):
                x = x.get(part) if isinstance(x, dict) else None
            vals.append(x)
        rows.append(vals + [g["n"], g["ok"] / g["n"], g["diverged"],
                            float(np.median(g["theta"]))])
    return [p for p, _ in sweep["axes"]] + ["chains", "success", "diverged", "median theta"], rows


def check_paths(config, db, out) -> None:
    """Refuse outputs that would overwrite an input: the store, the config, each other."""
    from pathlib import Path

    from .._io import same_file as _same_file
    for name, path, others in (("--db", db, [("CONFIG", config)]),
                               ("--out", out, [("CONFIG", config), ("--db", db)])):
        for other_name, other in others:
            if _same_file(path, other):
                raise ValueError(f"{name}: {path} is the same file as {other_name}; "
                                 "choose another path")
    if Path(out).is_dir():
        raise ValueError(f"--out: {out} is a directory")
    if Path(out).exists():
        head = b""
        if Path(out).is_file():
            with Path(out).open("rb") as fh:
                head = fh.read(16)
        if head.startswith(b"SQLite format 3"):
            raise ValueError(f"--out: {out} is an SQLite store; refusing to overwrite it "
                             "with JSON")


def main(args) -> int:
    import json
    import sys
    from pathlib import Path
    from .. import config as cfg
    from ..store import Store, atomic_write
    from ..sweep import check_task, expand, run_tasks
    from .._validate import check_workers
    check_workers(args.workers, name="--workers")
    stem = Path(args.config).stem
    db = Path(args.db) if args.db else Path(f"{stem}.sqlite")
    out = Path(args.out) if args.out else Path(f"{stem}-results.json")
    check_paths(args.config, db, out)
    sweep = cfg.load_sweep(args.config)
    for point in sweep["points"]:      # every size limit before the first task runs
        check_task(point)
    tasks = expand(sweep)
    if out.parent and not out.parent.is_dir():
        raise OSError(f"--out: directory {out.parent} does not exist")
    with Store(db) as store:
        done = store.count()
        if done and not args.resume:
            raise ValueError(f"--db: {db} already holds {done} finished task(s); pass --resume "
                             "to continue it, or choose another --db")
        if args.resume:
            store.verify()      # a damaged row is named before any work is done
        results = run_tasks(tasks, workers=check_workers(args.workers, len(tasks)),
                            dask=args.dask, store=store, desc="vpgd sweep", progress=not args.quiet)
        store.verify()          # and again before export
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
    diverged = sum(int(sum(r.get("diverged", []))) for r in results)
    if diverged:
        print(f"vpgd sweep: {diverged} chain(s) diverged (counted as failures; see the "
              "'diverged' column)", file=sys.stderr)
    return 0
