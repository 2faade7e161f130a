"""The evaluation report's figures, drawn with matplotlib's Agg canvas.

No pyplot: each figure is a ``Figure`` on its own ``FigureCanvasAgg``, so
there is no global state, no display and nothing to close. Output is
byte-for-byte reproducible: fixed sizes and dpi, and the PNG ``Software``
chunk (matplotlib's version) is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

from riskscore.learn.metrics import FPR_BUDGETS, LEVELS, RocCurve, kind_codes

DPI: Final = 100
LEVEL_COLOURS: Final = {"low": "#9bbf85", "medium": "#f0a830", "high": "#c8402f"}
_BINS: Final = np.linspace(0.0, 1.0, 51)
_ECDF_DECIMALS: Final = 4
_LOG_FPR_FLOOR: Final = 1e-3  # left edge of the log panel when no curve has a smaller FPR


def save_roc(curves: Sequence[tuple[str, RocCurve | None]], path: Path) -> None:
    """ROC curves of every model: linear axes left, log-scaled FPR right."""
    fig = _figure(12.0, 5.0)
    linear, log = fig.subplots(1, 2)
    drawn = [(label, curve) for label, curve in curves if curve is not None]
    floor = 1.0
    for label, curve in drawn:
        for ax in (linear, log):
            ax.plot(curve.fpr, curve.tpr, drawstyle="steps-post", label=label)
        positive = curve.fpr[curve.fpr > 0]
        if positive.size:
            floor = min(floor, float(positive.min()))
    linear.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    linear.set(xlim=(0, 1), title="ROC")
    # Points at FPR 0 sit off a log axis; clip them to its left edge.
    log.set_xscale("log", nonpositive="clip")
    log.set(xlim=(min(floor, _LOG_FPR_FLOOR) / 2, 1), title="ROC, log FPR")
    for budget in FPR_BUDGETS:
        log.axvline(budget, color="grey", linestyle=":", linewidth=1)
    for ax in (linear, log):
        ax.set(xlabel="false positive rate (legitimate rows flagged)", ylim=(0, 1.01))
        ax.set_ylabel("true positive rate (attack rows flagged)")
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend(loc="lower right")
        else:
            _empty(ax, "needs both attack and legitimate rows")
    _save(fig, path)


def save_score_distributions(
    title: str, scores: NDArray[np.float64], kinds: ArrayLike, path: Path
) -> None:
    """Score histogram (share of each kind's rows, log y) and ECDF per kind."""
    fig = _figure(12.0, 5.0)
    hist, ecdf = fig.subplots(1, 2)
    codes, names = kind_codes(kinds)
    for code, kind in enumerate(names):
        values = scores[codes == code]
        legend = f"{kind} ({values.size:,})"
        weights = np.full(values.size, 1.0 / values.size)
        hist.hist(values, bins=_BINS, weights=weights, histtype="step", label=legend)
        # Rounded to well below a pixel so compress bounds the path at 10^4 points.
        ecdf.ecdf(np.round(values, _ECDF_DECIMALS), compress=True, label=legend)
    hist.set_yscale("log")
    hist.set(xlim=(0, 1), xlabel="score", ylabel="share of the kind's rows", title=title)
    ecdf.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="score", ylabel="share scoring <= x")
    ecdf.set_title(f"{title}: ECDF")
    for ax in (hist, ecdf):
        ax.grid(True, alpha=0.3)
        if names:
            ax.legend(loc="best", fontsize="small")
        else:
            _empty(ax, "no rows")
    _save(fig, path)


def save_level_mix(mixes: Sequence[tuple[str, pd.DataFrame]], freq: str, path: Path) -> None:
    """Stacked share of each level per time bucket (HIGH at the bottom), one panel per model."""
    fig = _figure(12.0, 1.0 + 3.0 * max(1, len(mixes)), right=0.9, hspace=0.45)
    axes = fig.subplots(max(1, len(mixes)), 1, squeeze=False)[:, 0]
    width = pd.Timedelta(freq) / pd.Timedelta(days=1) * 0.9  # date axes count in days
    for ax, (label, counts) in zip(axes, mixes, strict=False):
        values = counts.loc[:, list(LEVELS)].to_numpy(dtype=np.float64)
        totals = values.sum(axis=1, keepdims=True)
        shares = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
        starts = pd.DatetimeIndex(counts.index)
        x = (starts.tz_convert(None) if starts.tz is not None else starts).to_numpy()
        bottom = np.zeros(len(counts))
        # The rare levels sit on the axis, where thin bars stay readable.
        for i, level in reversed(list(enumerate(LEVELS))):
            ax.bar(
                x, shares[:, i], width=width, bottom=bottom, align="edge",
                color=LEVEL_COLOURS[level], label=level,
            )  # fmt: skip
            bottom = bottom + shares[:, i]
        ax.set(ylim=(0, 1), ylabel="share of logins", title=f"{label}: levels per {freq}")
        if len(counts):
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        else:
            _empty(ax, "no rows")
    axes[-1].set_xlabel("bucket start (UTC)")
    _save(fig, path)


def _figure(width: float, height: float, *, right: float = 0.98, hspace: float = 0.2) -> Figure:
    # Fixed margins: constrained layout would double the drawing time.
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.07, right=right, bottom=0.11, top=0.92, wspace=0.22, hspace=hspace)
    return fig


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
