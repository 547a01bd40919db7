"""``python -m bench``: run the benchmark suite (verified_pgd/bench/suite.py) and print the table."""
import sys

from .suite import main

sys.exit(main())
