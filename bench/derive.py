"""``python -m bench.derive`` from a checkout = ``python -m verified_pgd.bench.derive``."""
import runpy

if __name__ == "__main__":
    runpy.run_module("verified_pgd.bench.derive", run_name="__main__", alter_sys=True)
