"""``python -m bench.certify`` from a checkout = ``python -m verified_pgd.bench.certify``."""
import runpy

if __name__ == "__main__":
    runpy.run_module("verified_pgd.bench.certify", run_name="__main__", alter_sys=True)
