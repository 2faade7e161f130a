"""The evaluation report: files, tables, escaping, determinism and degenerate logs."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from riskscore.learn.metrics import ModelSpec, Thresholds, evaluate_model
from riskscore.learn.plots import DPI
from riskscore.learn.report import ReportSummary, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KINDS = ("bot", "credential_stuffing", "targeted")
MODELS = (
    ModelSpec("learned", "hgb/1", Thresholds(0.5, 0.9)),
    ModelSpec("statistical", "freeman-2016/1+signals/1", Thresholds(0.5, 0.855)),
)
TITLE = "Evaluation of <b>sim</b> & co"
NOTE = 'Scored with "riskscore evaluate"; <script>alert(1)</script> | not a table.'


def scored_log(seed: int, n: int = 3000) -> pd.DataFrame:
    """Two models over three days: "learned" separates attacks well, "statistical" less so."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(["", *KINDS], n, p=[0.88, 0.04, 0.04, 0.04])
    attack = kind != ""
    success = np.where(attack, rng.random(n) < 0.3, rng.random(n) < 0.95)
    seconds = np.sort(rng.integers(0, 3 * 86_400, n))
    frame = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2020-02-01", tz="UTC") + pd.to_timedelta(seconds, "s"),
            "success": success,
            "is_attack": attack,
            "is_takeover": attack & success & (kind == "targeted"),
            "attack_kind": kind,
        }
    )
    for spec, lift in zip(MODELS, (4.0, 1.5), strict=True):
        scores = 1.0 / (1.0 + np.exp(-(rng.normal(0.0, 1.0, n) + lift * attack - 2.5)))
        t = spec.thresholds
        frame[f"{spec.name}_score"] = scores
        frame[f"{spec.name}_level"] = np.select(
            [scores >= t.high, scores >= t.medium], ["high", "medium"], "low"
        )
    return frame


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return scored_log(11)


@pytest.fixture(scope="module")
def report(log: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> ReportSummary:
    directory = tmp_path_factory.mktemp("report") / "nested" / "out"
    return write_report(log, MODELS, directory, title=TITLE, notes=[NOTE])


def test_summary_holds_each_models_metrics(log: pd.DataFrame, report: ReportSummary) -> None:
    assert [m.model for m in report.metrics] == ["learned", "statistical"]
    for spec, metrics in zip(MODELS, report.metrics, strict=True):
        expected = evaluate_model(log, spec.name, spec.thresholds, label=spec.label)
        assert metrics.to_dict() == expected.to_dict()
    learned, statistical = report.metrics
    assert learned.auc > statistical.auc > 0.5


def test_writes_valid_non_trivial_pngs(report: ReportSummary) -> None:
    files = report.files
    pngs = [files.roc, *files.scores, files.levels_over_time]
    assert [p.name for p in files.scores] == ["scores_learned.png", "scores_statistical.png"]
    for path in pngs:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        pixels = imread(path)
        assert pixels.shape[0] >= 4 * DPI
        assert pixels.shape[1] == 12 * DPI
        rgb = np.round(pixels[..., :3] * 255).astype(np.uint32)
        colours = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
        assert colours.size > 50  # curves, bars, anti-aliased text: not a blank canvas
        assert (pixels[..., :3] < 0.5).mean() > 0.005  # some dark ink on the page


def test_markdown_has_every_metric_and_kind_for_both_models(report: ReportSummary) -> None:
    text = report.files.markdown.read_text(encoding="utf-8")
    learned, statistical = report.metrics
    assert "| metric | learned | statistical |" in text
    for metric in (
        "ROC AUC, all attacks",
        "ROC AUC, takeovers vs legitimate successful",
        "TPR at 1% FPR",
        "TPR at 0.1% FPR",
        "re-auth at 99% TPR, all legitimate",
        "re-auth at 99.9% TPR, legitimate successful",
        "RSR at 0.999 TPR (ours)",
    ):
        assert re.search(rf"^\| {re.escape(metric)} \| [^|]+ \| [^|]+ \|$", text, re.M), metric
    assert f"| ROC AUC, all attacks | {learned.auc:.4g} | {statistical.auc:.4g} |" in text
    by_kind = text.split("## Detection by kind")[1]
    for detection in learned.detection:
        rows = re.findall(rf"^\| {detection.kind} \| ([\d,]+) \|", by_kind, re.M)
        assert rows == [f"{detection.rows:,}", f"{detection.successful_rows:,}"]
    assert {d.kind for d in learned.detection} == {"legitimate", *KINDS}
    for png in ("roc.png", "scores_learned.png", "scores_statistical.png", "levels_over_time.png"):
        assert f"]({png})" in text
    # Plain text stays plain text: no raw tags, no stray table cells.
    assert "\\<script\\>" in text
    assert "<script>" not in text


def test_html_is_escaped_and_says_what_the_markdown_says(report: ReportSummary) -> None:
    page = report.files.html.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert html.escape(NOTE) in page
    assert f"<title>{html.escape(TITLE)}</title>" in page
    for png in ("roc.png", "scores_learned.png", "scores_statistical.png", "levels_over_time.png"):
        assert f'<img src="{png}"' in page
    cells = _CellCollector.cells_of(page)
    text = report.files.markdown.read_text(encoding="utf-8")
    md_cells = [
        [_md_unescape(c.strip()) for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]
    assert cells == md_cells


def test_report_is_byte_for_byte_reproducible(
    log: pd.DataFrame, report: ReportSummary, tmp_path: Path
) -> None:
    again = write_report(log, MODELS, tmp_path, title=TITLE, notes=[NOTE])
    for first, second in (
        (report.files.markdown, again.files.markdown),
        (report.files.html, again.files.html),
        (report.files.roc, again.files.roc),
        (report.files.levels_over_time, again.files.levels_over_time),
        *zip(report.files.scores, again.files.scores, strict=True),
    ):
        assert first.read_bytes() == second.read_bytes(), first.name
    assert b"Matplotlib" not in report.files.roc.read_bytes()


@pytest.mark.parametrize(
    "case",
    ["no attacks", "rba-like", "one row"],
)
def test_degenerate_logs_still_give_a_report(case: str, tmp_path: Path) -> None:
    frame = scored_log(12, n=600)
    if case == "no attacks":
        frame = frame[~frame["is_attack"]]
    elif case == "rba-like":
        frame = frame.drop(columns="attack_kind")
    else:
        frame = frame.head(1)
    summary = write_report(frame, MODELS, tmp_path, title=case)
    text = summary.files.markdown.read_text(encoding="utf-8")
    assert "| metric | learned | statistical |" in text
    for path in (summary.files.roc, *summary.files.scores, summary.files.levels_over_time):
        assert path.read_bytes().startswith(PNG_SIGNATURE)
    if case == "no attacks":
        assert "| ROC AUC, all attacks | n/a | n/a |" in text
    if case == "rba-like":
        assert re.search(r"^\| attack \| [\d,]+ \|", text, re.M)


def test_model_names_must_be_unique(log: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        write_report(log, [MODELS[0], MODELS[0]], tmp_path, title="x")


class _CellCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    @classmethod
    def cells_of(cls, page: str) -> list[list[str]]:
        parser = cls()
        parser.feed(page)
        return parser.rows

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _md_unescape(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell)
