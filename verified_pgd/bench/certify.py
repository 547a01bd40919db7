"""Certification benchmark: time to certify the default problem (target < 60 s on 2 cores)
and to re-check each certificate (target < 5 s each), plus the tamper count.

    python -m bench.certify            # prints times, ratios to the targets, tamper count

Ratios below 1 meet the target; all numbers are measured in this run.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

TARGET_PROVE_S = 60.0
TARGET_CHECK_S = 5.0


def bench_certify(mutations: bool = True) -> dict:
    from proofs_check import checker, mutate, prover
    from verified_pgd.problem import Problem
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        paths = prover.prove_problem(Problem.default(), "default", d)
        t1 = time.perf_counter()
        paths += prover.prove_symbolic(d)
        t2 = time.perf_counter()
        times, ok = [], True
        for p in paths:
            s = time.perf_counter()
            good, _, _ = checker.check_file(str(p))
            times.append(time.perf_counter() - s)
            ok &= good
        out = {"prove_numeric_s": t1 - t0, "prove_symbolic_s": t2 - t1, "prove_total_s": t2 - t0,
               "prove_ratio": (t2 - t0) / TARGET_PROVE_S, "max_check_s": max(times),
               "check_ratio": max(times) / TARGET_CHECK_S, "certificates": len(paths),
               "all_hold": ok}
        if mutations:
            total = rejected = 0
            for p in paths:
                cert = json.loads(Path(p).read_text())
                for _, m in mutate.mutations(cert):
                    total += 1
                    try:
                        checker.check_cert(m)
                    except checker.Reject:
                        rejected += 1
            out.update(tampered=total, tampered_rejected=rejected)
    return out


def main() -> int:
    r = bench_certify()
    print(f"certify default problem: {r['prove_total_s']:.2f} s (numeric {r['prove_numeric_s']:.2f} s, "
          f"symbolic {r['prove_symbolic_s']:.2f} s); target {TARGET_PROVE_S:.0f} s, "
          f"ratio {r['prove_ratio']:.3f}")
    print(f"re-check slowest of {r['certificates']} certificates: {r['max_check_s']:.3f} s; "
          f"target {TARGET_CHECK_S:.0f} s, ratio {r['check_ratio']:.3f}; all hold: {r['all_hold']}")
    print(f"tampered certificates rejected: {r['tampered_rejected']}/{r['tampered']}")
    ok = r["all_hold"] and r["tampered_rejected"] == r["tampered"]
    return 0 if ok and r["prove_ratio"] < 1 and r["check_ratio"] < 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
