"""Warnings attributed to the user's line, however deep inside the package they arise."""
from __future__ import annotations

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def caller_stacklevel(frame) -> int:
    """``warnings.warn``'s stacklevel, for a warning issued in ``frame``, of the first frame
    outside the verified_pgd package (a fixed level is wrong as soon as a second path of a
    different depth reaches the warning, and then points into the library, where Python's
    default filters hide a DeprecationWarning)."""
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn(message, category)`` at the first line outside the package."""
    warnings.warn(message, category, stacklevel=caller_stacklevel(sys._getframe()))
