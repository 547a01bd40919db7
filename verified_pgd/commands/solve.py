"""vpgd solve: one PGD run (any number of chains) from flags or a task file -> JSON summary."""
from __future__ import annotations

HELP = "one PGD run from flags or a TOML task file; prints a JSON summary"
DESCRIPTION = (
    "Run perturbed gradient descent once (CHAINS independent chains) and print a JSON "
    "summary: final theta, loss and relative a-error per chain, first eps-success step, "
    "divergence, and the success rate. A TOML file (--config) may hold the tables "
    "[problem], [init], [schedule], [solver] and 'seed' (docs/running.md); flags override it. "
    "Without a schedule, the annealed schedule of the built-in configuration's E3 is used.")


def add_arguments(parser):
    parser.add_argument("--config", metavar="FILE", help="TOML task file")
    g = parser.add_argument_group("problem")
    g.add_argument("--w-star", metavar="X,Y,...", help="teacher filter (default 1,0,0,0)")
    g.add_argument("--a-star", metavar="X,Y,...", help="teacher output weights (default 1,1,1,-1)")
    g = parser.add_argument_group("start")
    g.add_argument("--init", choices=["spurious", "random", "global", "saddle"],
                   help="starting point (default: random)")
    g.add_argument("--w0", metavar="X,Y,...", help="explicit starting filter (with --a0)")
    g.add_argument("--a0", metavar="X,Y,...", help="explicit starting output weights")
    g = parser.add_argument_group("schedule")
    g.add_argument("--schedule", metavar="S:T,...",
                   help="stages sigma:steps, e.g. 0.8:2000,0.4:500,0:1000")
    g.add_argument("--sigma", type=float, help="constant noise level (with --steps)")
    g.add_argument("--steps", type=int, help="number of steps of a constant schedule")
    g = parser.add_argument_group("solver")
    g.add_argument("--eta", type=float, help="step size (default 0.1)")
    g.add_argument("--chains", type=int, help="independent chains (default 1)")
    g.add_argument("--seed", type=int, help="seed (default 0)")
    g.add_argument("--noise", choices=["gaussian", "ball"])
    g.add_argument("--free", action="store_true", help="free parametrization (no weight normalization)")
    g.add_argument("--gradient", metavar="population|B", help="population gradient or mini-batch size B")
    g.add_argument("--precision", metavar="float64|DPS", help="float64 or decimal digits (mpmath)")
    g.add_argument("--eps", type=float, help="eps-success threshold (default 1e-6, as in vp.pgd)")
    g.add_argument("--record-every", type=int, help="include the history every N steps")
    g.add_argument("--engine", choices=["auto", "compiled", "numpy"],
                   help="float64 arithmetic: compiled numba kernel or numpy (default auto: "
                        "compiled where numba imports)")
    parser.add_argument("--out", metavar="FILE", help="write the JSON here (atomically) instead of stdout")


def _floats(text, flag):
    items = [x.strip() for x in text.split(",")]
    try:
        return [float(x) for x in items]
    except ValueError:
        raise ValueError(f"{flag}: expected comma-separated numbers, got {text!r}") from None


def _stages(text):
    out = []
    for i, part in enumerate(text.split(",")):
        bits = part.split(":")
        if len(bits) != 2:
            raise ValueError(f"--schedule: stage {i} must be sigma:steps, got {part!r}")
        try:
            out.append([float(bits[0]), int(bits[1])])
        except ValueError:
            raise ValueError(f"--schedule: stage {i} must be sigma:steps, got {part!r}") from None
    return out


def build_task(args) -> dict:
    """The validated task the flags and the optional file describe."""
    from .. import config as cfg
    from .._io import read_toml
    raw = read_toml(args.config, "config") if args.config else {}
    if not isinstance(raw, dict):
        raise ValueError("config: expected a TOML document")
    raw.setdefault("solver", {})
    if not isinstance(raw["solver"], dict):
        raise ValueError("config: solver: must be a table")
    if args.w_star or args.a_star:
        raw["problem"] = {"w_star": _floats(args.w_star or "1,0,0,0", "--w-star"),
                          "a_star": _floats(args.a_star or "1,1,1,-1", "--a-star")}
    if (args.w0 is None) != (args.a0 is None):
        raise ValueError("--w0, --a0: give both or neither")
    if args.w0 is not None:
        if args.init:
            raise ValueError("--init: cannot be combined with --w0/--a0")
        raw["init"] = {"kind": "explicit", "w": _floats(args.w0, "--w0"),
                       "a": _floats(args.a0, "--a0")}
    elif args.init:
        raw["init"] = {"kind": args.init}
    if args.schedule is not None:
        if args.sigma is not None or args.steps is not None:
            raise ValueError("--schedule: cannot be combined with --sigma/--steps")
        raw["schedule"] = {"kind": "stages", "stages": _stages(args.schedule)}
    elif args.sigma is not None or args.steps is not None:
        if args.sigma is None or args.steps is None:
            raise ValueError("--sigma, --steps: a constant schedule needs both")
        raw["schedule"] = {"kind": "constant", "sigma": args.sigma, "steps": args.steps}
    default = cfg.load_run()["experiments"].get("e3")
    if "schedule" not in raw:
        raw["schedule"] = default["methods"]["annealed"]
    sol = raw["solver"]
    for flag, key in (("eta", "eta"), ("chains", "chains"), ("noise", "noise"), ("eps", "eps"),
                      ("record_every", "record_every"), ("engine", "engine")):
        value = getattr(args, flag)
        if value is not None:
            sol[key] = value
    if not cfg.schedule_carries_eta(raw["schedule"]):     # else the stages carry eta
        sol.setdefault("eta", default["eta"])
    if args.free:
        sol["normalized"] = False
    if args.gradient is not None:
        sol["gradient"] = args.gradient if args.gradient == "population" else _int(args.gradient,
                                                                                   "--gradient")
    if args.precision is not None:
        sol["precision"] = args.precision if args.precision == "float64" else _int(
            args.precision, "--precision")
    if args.seed is not None:
        raw["seed"] = args.seed
    return cfg.validate_task(raw)


def _int(text, flag):
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag}: expected an integer, got {text!r}") from None


def summarize(task: dict, result: dict) -> dict:
    from ..sweep import chain_successes
    n = result["chains"]
    final = chain_successes(result, task["solver"]["eps"])
    # a chain that reached eps and diverged later is no success either
    ever = [h >= 0 and not d for h, d in zip(result["hit_step"], result["diverged"])]
    return {"task": task, "result": result,
            "summary": {"chains": n, "final_success_rate": sum(final) / n,
                        "ever_success_rate": sum(ever) / n,
                        "diverged": int(sum(result["diverged"]))}}


def main(args) -> int:
    import json
    import sys
    from ..store import atomic_write
    from ..sweep import run_task
    from .._io import check_output
    if args.out:
        check_output(args.out, "--out", {"--config": args.config})
    task = build_task(args)
    doc = summarize(task, run_task(task))
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    if args.out:
        atomic_write(args.out, text)
    else:
        sys.stdout.write(text)
    bad = doc["summary"]["diverged"]
    nonfinite = sum(x is None for x in doc["result"]["loss"])
    if bad or nonfinite:
        # not a silent success: the JSON says which chains, the exit code says "failed"
        print(f"vpgd solve: {bad} of {doc['summary']['chains']} chain(s) diverged, "
              f"{nonfinite} final loss(es) not finite (counted as failures)", file=sys.stderr)
        return 1
    return 0
