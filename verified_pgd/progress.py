"""Progress bars for long commands: on stderr, and only when stderr is a terminal.

``vpgd run``, ``sweep``, ``claims``, ``prove`` and ``check`` report progress with tqdm
(counts, elapsed time, rates).  A bar is drawn only when stderr is a terminal and the
command was not given ``--quiet``; in a pipe, a file or CI's log nothing is written, and
stdout, which carries the machine-readable output (tables, JSON, paths), never receives a
byte of it.
"""
from __future__ import annotations

import sys

__all__ = ["enabled", "bar", "iterate"]


def enabled(quiet: bool = False, stream=None) -> bool:
    """Whether to draw: not ``quiet`` and ``stream`` (default stderr) is a terminal."""
    if quiet:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):     # no isatty, or a closed stream
        return False


def bar(total=None, desc: str = "", unit: str = "it", quiet: bool = False, **kwargs):
    """A tqdm bar on stderr; a disabled (silent, no-op) one unless :func:`enabled`."""
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                disable=not enabled(quiet), leave=False, dynamic_ncols=True, **kwargs)


def iterate(items, desc: str = "", unit: str = "it", quiet: bool = False, label=None):
    """``items`` (a sized collection), ticking a :func:`bar` for each one taken;
    ``label(item)``, if given, is shown while that item is being worked on."""
    with bar(total=len(items), desc=desc, unit=unit, quiet=quiet) as b:
        for x in items:
            if label is not None and not b.disable:
                b.set_postfix_str(label(x))
            yield x
            b.update(1)
