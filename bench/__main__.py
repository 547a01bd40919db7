"""``python -m bench`` from a checkout = ``python -m verified_pgd.bench``."""
import runpy

runpy.run_module("verified_pgd.bench", run_name="__main__", alter_sys=True)
