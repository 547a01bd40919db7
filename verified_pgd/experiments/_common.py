"""Shared pieces of the experiments: seeds, tasks, statistics, figures, the Section record."""
from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..store import atomic_write


@dataclass
class Section:
    """One experiment's part of the report.

    ``summary`` holds the headline numbers (printed in the terminal table), ``table`` a
    table for the report (``columns`` and ``rows`` of JSON scalars), ``figures`` the PNG
    files written in the output directory with captions, ``data`` the series behind the
    figures, ``notes`` remarks (e.g. why a part was skipped).
    """

    id: str
    title: str
    text: str
    summary: dict = field(default_factory=dict)
    table: dict = field(default_factory=lambda: {"columns": [], "rows": []})
    figures: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "text": self.text, "summary": self.summary,
                "table": self.table, "figures": self.figures, "data": self.data,
                "notes": self.notes}


def seed_for(master: int, experiment: int, *parts) -> int:
    """A task seed from the master seed, the experiment number and labels (ints or str)."""
    key = [experiment] + [p if isinstance(p, int) else zlib.crc32(str(p).encode()) for p in parts]
    state = np.random.SeedSequence(master, spawn_key=tuple(key)).generate_state(2, np.uint32)
    return int((int(state[0]) << 32 | int(state[1])) >> 1)


def task(problem_spec, init, schedule, *, eta, chains, seed, eps=1e-3, record_every=0,
         noise="gaussian"):
    from .. import config as cfg
    return cfg.validate_task({
        "problem": problem_spec, "init": init, "schedule": schedule, "seed": seed,
        "solver": {"eta": eta, "chains": chains, "eps": eps, "record_every": record_every,
                   "noise": noise}})


def split_chains(chains: int, per_task: int = 250) -> list:
    """Chunk sizes of a large chain count; fixed by the configuration, not the runner."""
    n = max(1, math.ceil(chains / per_task))
    return [chains // n + (1 if i < chains % n else 0) for i in range(n)]


def loglog_fit(x, y):
    """Least-squares slope and intercept of log y against log x (finite positive points)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        return None, None
    slope, intercept = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
    return float(slope), float(intercept)


def new_figure(ncols=1, width=6.4, height=4.0):
    from matplotlib.figure import Figure   # no pyplot: no global state, no GUI backend
    fig = Figure(figsize=(width * ncols if ncols > 1 else width, height), layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


def save_figure(fig, out_dir, name: str) -> str:
    """Write ``fig`` as ``out_dir/name`` (PNG) atomically; returns the file name."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    atomic_write(Path(out_dir) / name, buf.getvalue())
    return name


def fmt(x, digits=4):
    if x is None:
        return "—"
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        return f"{x:.{digits}g}"
    return str(x)
