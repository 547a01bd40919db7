"""``python -m bench.solvers`` from a checkout = ``python -m verified_pgd.bench.solvers``."""
import runpy

if __name__ == "__main__":
    runpy.run_module("verified_pgd.bench.solvers", run_name="__main__", alter_sys=True)
