"""The report's figure style, as data: colours, line widths and styles, marker sizes,
alpha, font sizes, figure sizes, grids, legend placement, tick formats.

A style is a presentation choice, not a computation: the experiments' figure code holds
only what is plotted (coordinates, labels, legend texts, titles) and takes every style
from here as keyword arguments (``ax.plot(x, y, label=..., **_style.E2_GD)``).  One place
for the report's look; and the figure code stays a statement of what the report shows.

Constants only (no functions, no imports of the package): the experiments import this
module, never the other way round.  Names are ``E<n>_<ELEMENT>``; the shared ones have no
prefix.  Colours are matplotlib's ``"C<n>"`` cycle names, greys as strings of a fraction.
"""

# Shared.
GRID = {"alpha": 0.3}
GRID_LOG = {"alpha": 0.3, "which": "both"}        # log axes: minor decades too
LEGEND = {"fontsize": 8}

# E1 landscape: the reduced-loss curve, a marker per critical point, the barrier.
E1_CURVE = {"color": "C0", "lw": 1.6}
E1_POINT = {"global": {"marker": "o", "ls": "none", "color": "C2", "ms": 9},
            "saddle": {"marker": "^", "ls": "none", "color": "C3", "ms": 9},
            "spurious": {"marker": "s", "ls": "none", "color": "C1", "ms": 9}}
E1_BARRIER_LINE = {"colors": "C3", "linestyles": "dashed", "lw": 0.8}
E1_BARRIER_TEXT = {"ha": "center", "va": "bottom", "color": "C3", "fontsize": 9}
E1_LEGEND = {"fontsize": 8, "loc": "upper left"}

# E2 trajectories: three panels, PGD chains in turn through C1..C9, GD, schedule stages.
E2_FIGURE = {"width": 4.6, "height": 3.8}
E2_CHAIN_COLOURS = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")
E2_CHAIN = {"lw": 0.9, "alpha": 0.85}
E2_GD = {"color": "k", "lw": 2.0, "ls": "--"}
E2_STAGE = {"color": "0.6", "lw": 0.6, "ls": ":"}
E2_SADDLE = {"color": "C3", "lw": 0.8, "ls": "-."}

# E3 success: two bars per method (final success, final basin) with their intervals.
E3_FIGURE = {"width": 7.0}
E3_BAR = {"final_success": {"color": "C0", "alpha": 0.8},
          "global_basin": {"color": "C2", "alpha": 0.8}}
E3_INTERVAL = {"fmt": "none", "ecolor": "k", "capsize": 4, "lw": 1}
E3_LEGEND = {"fontsize": 8, "loc": "upper left"}
E3_GRID = {"axis": "y", "alpha": 0.3}

# E4 precision: a median line and a quartile band per series.
E4_MEDIAN = {"constant": {"marker": "o", "ls": "-", "color": "C1"},
             "annealed": {"marker": "o", "ls": "-", "color": "C0"}}
E4_BAND = {"constant": {"color": "C1", "alpha": 0.2},
           "annealed": {"color": "C0", "alpha": 0.2}}

# E5 scaling: two log-log panels, medians as points, the fit as a line.
E5_FIGURE = {"width": 4.8, "height": 3.8}
E5_MEDIAN = {"marker": "o", "ls": "none", "color": "C0"}
E5_FIT = {"ls": "-", "color": "C3"}
E5_X_FORMAT = "{x:.3g}"                            # tick labels at the scanned k / log(1/eps)
E5_Y_FORMAT = "{x:g}"
E5_Y_LOCATOR = {"base": 10, "subs": (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)}
E5_TITLE = {"fontsize": 10}

# E6 paper: theta_t of the chains per method, the saddle angle, sigma_w on a twin axis.
E6_FIGURE = {"width": 10.0}
E6_COLOUR = {"pgd_gaussian": "C0", "gd": "C3"}
E6_CHAIN = {"lw": 0.8, "alpha": 0.7}
E6_SADDLE = {"color": "k", "ls": ":", "lw": 1}
E6_SIGMA = {"color": "0.5", "lw": 1, "ls": "--"}
E6_LEGEND = {"fontsize": 8, "loc": "center right"}

# E7 escape: a colour per (k, p, eta) series, in turn through C0..C9.
E7_FIGURE = {"width": 5.2, "height": 4.0}
E7_SERIES_COLOURS = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")
E7_MEAN = {"fmt": "o", "ms": 4, "capsize": 2}      # measured means with their intervals
E7_SADDLE = {"ls": "-", "lw": 1}                   # the saddle prediction (solid)
E7_ONE_D = {"ls": "--", "lw": 0.8}                 # the 1d prediction (dashed)
E7_RATIO_BAR = {"fmt": "none", "capsize": 2}
E7_RATIO = {"marker": "o", "ls": "none", "ms": 4}
E7_RATIO_HOLLOW = {"marker": "o", "ls": "none", "mfc": "none", "ms": 4}   # assumptions fail
E7_BAND = {"color": "0.9"}
E7_ONE = {"color": "k", "lw": 0.8}
E7_LEGEND = {"fontsize": 7}
