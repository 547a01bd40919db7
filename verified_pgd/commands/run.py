"""vpgd run: the paper's experiments E1-E5 into a report (Markdown, HTML, PNG, JSON)."""
from __future__ import annotations

HELP = "run experiments E1-E5 into a report with figures (built-in default configuration)"
DESCRIPTION = (
    "Reproduce the experiments (E1 landscape, E2 GD vs PGD from the spurious point, E3 "
    "success rates, E4 constant noise vs annealing, E5 scaling) into OUT/report.md, "
    "OUT/report.html, OUT/results.json and PNG figures, and print a summary table. "
    "The built-in configuration is verified_pgd/data/default.toml; --config FILE "
    "overrides any of its keys.")


def add_arguments(parser):
    parser.add_argument("--config", metavar="FILE", help="TOML file merged over the built-in default")
    parser.add_argument("--quick", action="store_true",
                        help="small version (the [quick] table; under a minute, used by CI)")
    parser.add_argument("--out", metavar="DIR", default="vpgd-report",
                        help="output directory (default: vpgd-report)")
    parser.add_argument("--workers", metavar="N", type=int, default=1,
                        help="local worker processes (default 1; results do not depend on it)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run tasks on a Dask scheduler at ADDRESS, or 'local' for a "
                             "LocalCluster with --workers processes (needs verified_pgd[dask])")
    parser.add_argument("--seed", metavar="S", type=int, help="master seed (overrides the config)")
    parser.add_argument("--experiments", metavar="LIST",
                        help="comma-separated subset of e1,e2,e3,e4,e5 (overrides run.experiments)")
    parser.add_argument("--print-default-config", action="store_true",
                        help="print the documented built-in configuration and exit")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (drawn on stderr only when it is a terminal)")


def prepare_out_dir(out) -> "Path":
    """Create ``out`` if needed and make sure files can be written into it."""
    import os
    import tempfile
    from pathlib import Path
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OSError(f"out: {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".vpgd-probe.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OSError(f"out: cannot write to {path}: {exc.strerror or exc}") from None
    return path


def main(args) -> int:
    import sys
    import time
    from .. import config as cfg
    if args.print_default_config:
        sys.stdout.write(cfg.default_text())
        return 0
    from .._validate import check_workers
    check_workers(args.workers, name="--workers")
    conf_raw_path = args.config
    conf = cfg.load_run(conf_raw_path, quick=args.quick)
    if args.seed is not None:
        if args.seed < 0:
            raise ValueError(f"--seed: must be >= 0, got {args.seed}")
        conf["seed"] = args.seed
    if args.experiments is not None:
        names = [x.strip() for x in args.experiments.split(",") if x.strip()]
        for name in names:
            if name not in cfg.EXPERIMENTS:
                raise ValueError(f"--experiments: unknown experiment {name!r} "
                                 f"(known: {', '.join(cfg.EXPERIMENTS)})")
        if not names:
            raise ValueError("--experiments: empty list")
        for name in names:
            if name not in conf["experiments"]:
                raise ValueError(f"--experiments: {name} has no [experiments.{name}] table")
        conf["run"]["experiments"] = [e for e in cfg.EXPERIMENTS if e in names]
    if args.config:
        from pathlib import Path

        from .._io import check_output
        written = [Path(args.out) / n for n in ("results.json", "report.md", "report.html")]
        if Path(args.config).suffix.lower() == ".png":
            written.append(Path(args.out) / Path(args.config).name)
        for path in written:
            check_output(path, "--out", {"--config": args.config})
    out = prepare_out_dir(args.out)

    from .. import experiments, report
    t0 = time.perf_counter()
    sections = experiments.run(conf, out, workers=args.workers, dask=args.dask,
                               progress=not args.quiet)
    problem = cfg.build_problem(conf["problem"])
    doc = report.build(conf, problem, sections, quick=args.quick)
    paths = report.write(doc, out)
    print(report.summary_table(doc))
    print()
    print(f"report: {paths[2]}  ({paths[1].name}, {paths[0].name}, "
          f"{sum(len(s.figures) for s in sections)} figures) in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0
