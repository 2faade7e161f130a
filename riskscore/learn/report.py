"""The evaluation report: metrics of every model side by side, as Markdown, HTML and PNGs.

``riskscore evaluate`` scores a labelled log with each model and calls
:func:`write_report` on the scored rows: ``timestamp`` (UTC), ``success``,
``is_attack``, ``is_takeover``, optional ``attack_kind`` ("" if legitimate),
and ``<model>_score`` / ``<model>_level`` per model. Both text formats are
rendered from one list of blocks, so they say the same.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from riskscore.learn import metrics as m
from riskscore.learn import plots
from riskscore.learn.metrics import KindDetection, ModelMetrics, ModelSpec, ReauthRate

ROC_PNG: Final = "roc.png"
LEVELS_PNG: Final = "levels_over_time.png"
_EMPTY_BUCKET: Final = "1D"
_CSS: Final = (
    "body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
    "th:first-child,td:first-child{text-align:left}img{max-width:100%}"
)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where each part of the report was written."""

    directory: Path
    markdown: Path
    html: Path
    roc: Path
    levels_over_time: Path
    scores: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """The metrics of every model, in the order given, and the files written."""

    metrics: tuple[ModelMetrics, ...]
    files: ReportFiles


@dataclass(frozen=True, slots=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True, slots=True)
class _Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class _Image:
    src: str
    alt: str


_Block = _Heading | _Paragraph | _Table | _Image


def write_report(
    frame: pd.DataFrame,
    models: Sequence[ModelSpec],
    directory: Path,
    *,
    title: str,
    notes: Sequence[str] = (),
) -> ReportSummary:
    """Evaluate every model on ``frame`` and write report.md, report.html and the PNGs."""
    if not models:
        raise ValueError("need at least one model")
    if len({_slug(spec.name) for spec in models}) != len(models):
        raise ValueError("model names must be unique (as file names)")
    directory.mkdir(parents=True, exist_ok=True)
    results = tuple(
        m.evaluate_model(frame, spec.name, spec.thresholds, label=spec.label) for spec in models
    )
    labels = m.attack_labels(frame)
    kinds = m.attack_kinds(frame)
    times = pd.DatetimeIndex(frame["timestamp"])
    freq = m.time_bucket(times.min(), times.max()) if len(times) else _EMPTY_BUCKET
    roc = directory / ROC_PNG
    plots.save_roc(
        [(spec.name, m.roc_curve(frame[f"{spec.name}_score"], labels)) for spec in models], roc
    )
    score_files = []
    for spec in models:
        path = directory / f"scores_{_slug(spec.name)}.png"
        scores = frame[f"{spec.name}_score"].to_numpy(dtype=np.float64)
        plots.save_score_distributions(f"{spec.name} scores", scores, kinds, path)
        score_files.append(path)
    mix = directory / LEVELS_PNG
    plots.save_level_mix(
        [(s.name, m.level_mix_over_time(times, frame[f"{s.name}_level"], freq)) for s in models],
        freq,
        mix,
    )
    span = (times.min(), times.max()) if len(times) else None
    blocks = _document(title, notes, results, span, freq, [p.name for p in score_files])
    files = ReportFiles(
        directory=directory,
        markdown=directory / "report.md",
        html=directory / "report.html",
        roc=roc,
        levels_over_time=mix,
        scores=tuple(score_files),
    )
    files.markdown.write_text(_markdown(blocks), encoding="utf-8")
    files.html.write_text(_html(title, blocks), encoding="utf-8")
    return ReportSummary(results, files)


def _document(
    title: str,
    notes: Sequence[str],
    results: Sequence[ModelMetrics],
    span: tuple[pd.Timestamp, pd.Timestamp] | None,
    freq: str,
    score_pngs: Sequence[str],
) -> list[_Block]:
    first = results[0]
    when = f"{span[0].isoformat()} to {span[1].isoformat()}" if span else "no rows"
    blocks: list[_Block] = [_Heading(1, title), *(_Paragraph(note) for note in notes)]
    blocks += [
        _Heading(2, "Data"),
        _Table(
            ("", "rows"),
            (
                ("logins", f"{first.rows:,}"),
                ("legitimate", f"{first.legitimate:,}"),
                ("legitimate, successful", f"{first.legitimate_successful:,}"),
                ("attack", f"{first.attacks:,}"),
                ("account takeover", f"{first.takeovers:,}"),
            ),
        ),
        _Paragraph(f"Time span: {when}. Level mix bucket: {freq}."),
        _Heading(2, "Models"),
        _Table(
            ("model", "version", "MEDIUM at", "HIGH at"),
            tuple(
                (r.model, r.label, _num(r.thresholds.medium), _num(r.thresholds.high))
                for r in results
            ),
        ),
        _Heading(2, "Comparison"),
        _Paragraph(
            "A threshold flags every login scoring at or above it; attack rows are the "
            "positive class. Re-authentication is the share of legitimate logins a threshold "
            "challenges when it is set to catch the given share of attack rows (Wiefling et "
            "al.). RSR is our definition: odds of that threshold over the median "
            "legitimate odds (metrics.risk_score_relation)."
        ),
        _Table(("metric", *(r.model for r in results)), _comparison(results)),
        _Heading(2, "Detection by kind"),
        _Paragraph(
            "AUC of each kind against all legitimate rows; shares flagged at each model's "
            "own MEDIUM and HIGH levels."
        ),
        _kind_table(results, successful=False),
        _Heading(3, "Successful logins only"),
        _Paragraph("Successful attack logins are account takeovers in the making."),
        _kind_table(results, successful=True),
        _Heading(2, "Figures"),
        _Image(ROC_PNG, "ROC curves of every model"),
        *(
            _Image(png, f"score distribution per kind, {r.model}")
            for png, r in zip(score_pngs, results, strict=True)
        ),
        _Image(LEVELS_PNG, "level mix over time"),
    ]
    return blocks


def _comparison(results: Sequence[ModelMetrics]) -> tuple[tuple[str, ...], ...]:
    def row(name: str, get: Callable[[ModelMetrics], str]) -> tuple[str, ...]:
        return (name, *(get(r) for r in results))

    def reauth(pick: Callable[[ModelMetrics], ReauthRate], tpr: str) -> list[tuple[str, ...]]:
        return [
            row(f"re-auth at {tpr} TPR, all legitimate", lambda r: _pct(pick(r).legitimate)),
            row(
                f"re-auth at {tpr} TPR, legitimate successful",
                lambda r: _pct(pick(r).legitimate_successful),
            ),
            row(f"threshold for {tpr} TPR", lambda r: _num(pick(r).threshold)),
        ]

    return (
        row("ROC AUC, all attacks", lambda r: _num(r.auc)),
        row("ROC AUC, takeovers vs legitimate successful", lambda r: _num(r.auc_takeover)),
        row("TPR at 1% FPR", lambda r: _pct(r.tpr_at_1pct_fpr)),
        row("TPR at 0.1% FPR", lambda r: _pct(r.tpr_at_01pct_fpr)),
        *reauth(lambda r: r.reauth_at_99pct_tpr, "99%"),
        *reauth(lambda r: r.reauth_at_999pct_tpr, "99.9%"),
        row(f"RSR at {m.RSR_TPR:g} TPR (ours)", lambda r: _num(r.rsr)),
    )


def _kind_table(results: Sequence[ModelMetrics], *, successful: bool) -> _Table:
    by_model = [{d.kind: d for d in r.detection} for r in results]
    kinds = [d.kind for d in results[0].detection]
    header: list[str] = ["kind", "successful rows" if successful else "rows"]
    for r in results:
        header += [] if successful else [f"{r.model} AUC"]
        header += [f"{r.model} ≥ MEDIUM", f"{r.model} HIGH"]
    rows = []
    for kind in kinds:
        first = by_model[0][kind]
        cells = [kind, f"{first.successful_rows if successful else first.rows:,}"]
        for r, details in zip(results, by_model, strict=True):
            d: KindDetection = details[kind]
            if successful:
                cells += [_pct(d.successful_medium_or_above), _pct(d.successful_high)]
            else:
                kind_auc = "" if kind == m.LEGITIMATE else _num(r.kind_auc.get(kind, math.nan))
                cells += [kind_auc, _pct(d.medium_or_above), _pct(d.high)]
        rows.append(tuple(cells))
    return _Table(tuple(header), tuple(rows))


def _markdown(blocks: Sequence[_Block]) -> str:
    out: list[str] = []
    for block in blocks:
        match block:
            case _Heading(level, text):
                out.append(f"{'#' * level} {_md_cell(text)}")
            case _Paragraph(text):
                out.append(_md_text(text))
            case _Table(header, rows):
                lines = [_md_row(header), _md_row(("---",) * len(header))]
                out.append("\n".join(lines + [_md_row(row) for row in rows]))
            case _Image(src, alt):
                out.append(f"![{_md_cell(alt)}]({src})")
    return "\n\n".join(out) + "\n"


def _html(title: str, blocks: Sequence[_Block]) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for block in blocks:
        match block:
            case _Heading(level, text):
                out.append(f"<h{level}>{html.escape(text)}</h{level}>")
            case _Paragraph(text):
                out.append(f"<p>{html.escape(text)}</p>")
            case _Table(header, rows):
                head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                    for row in rows
                )
                out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            case _Image(src, alt):
                out.append(f'<p><img src="{html.escape(src)}" alt="{html.escape(alt)}"></p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_md_cell(cell) for cell in cells) + " |"


def _md_text(text: str) -> str:
    # Plain text, so a "<" must not open an HTML tag in the rendered Markdown.
    for char in "\\&<>":
        text = text.replace(char, "\\" + char)
    return text


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def _num(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.4g}"


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.3g}%"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
