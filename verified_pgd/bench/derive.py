"""Benchmark: cold derivation and warm (cached) load of the symbolic module.

    python -m bench.derive

Workload (what a first session needs): import :mod:`symbolic`, then generated
loss/grad/Hessian for k = 4, p = 3 in numpy and mpmath and the moment functions in both.
Each figure is measured inside a fresh interpreter (subprocess), from before
``import symbolic`` to the end of the workload, so interpreter start-up is excluded
and nothing is shared with this process:

* cold: an empty temporary ``VPGD_CACHE_DIR`` (full derivation + code generation);
* warm: the same directory, now filled by the cold run.

Targets (issue 2): cold < 10 s, warm < 0.5 s.  Ratios < 1 meet the target.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGETS = {"cold_s": 10.0, "warm_s": 0.5}

_WORKLOAD = r"""
import json, time
t0 = time.perf_counter()
import symbolic
for backend in ("numpy", "mpmath"):
    symbolic.numeric(4, 3, backend)
    symbolic.moment_functions(backend)
elapsed = time.perf_counter() - t0
from symbolic import codegen
print(json.dumps({"seconds": elapsed, "derivations": sum(codegen.derivation_counts().values())}))
"""

def _root() -> Path:
    """The directory holding the ``symbolic`` package (a checkout or site-packages)."""
    import symbolic
    return Path(symbolic.__file__).resolve().parent.parent


def _run(cache_dir: str) -> dict:
    env = dict(os.environ, VPGD_CACHE_DIR=cache_dir)
    root = str(_root())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", _WORKLOAD], env=env, check=True,
                         capture_output=True, text=True, cwd=root).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_derive() -> dict:
    """``{"cold_s", "warm_s", "cold_derivations", "warm_derivations"}`` measured now."""
    with tempfile.TemporaryDirectory(prefix="vpgd-bench-cache-") as cache:
        cold = _run(cache)
        warm = _run(cache)
    if warm["derivations"] != 0:
        raise RuntimeError("warm run derived again: the cache was not used")
    return {"cold_s": cold["seconds"], "warm_s": warm["seconds"],
            "cold_derivations": cold["derivations"], "warm_derivations": warm["derivations"]}


def main() -> int:
    res = bench_derive()
    ok = True
    for key, target in TARGETS.items():
        ratio = res[key] / target
        ok &= ratio < 1
        print(f"{key:7s} {res[key]:7.3f} s   target {target:5.2f} s   ratio {ratio:5.2f}"
              f"   {'OK' if ratio < 1 else 'OVER'}")
    print(f"derivations: cold {res['cold_derivations']}, warm {res['warm_derivations']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
