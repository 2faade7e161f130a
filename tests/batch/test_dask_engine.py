"""The Dask engine gives the pandas engine's output exactly, on a real LocalCluster of 2 workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from riskscore.batch import replay
from riskscore.batch.dask_engine import score_log_dask
from riskscore.batch.io import chunk_from_frame
from riskscore.batch.score import BatchSettings, Policy, score_log
from riskscore.batch.validate import validate
from riskscore.policy.source import StaticPolicySource


def plain(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows with categorical columns as plain objects (category order is not a result)."""
    return rows.astype(
        {c: object for c in rows.columns if isinstance(rows[c].dtype, pd.CategoricalDtype)}
    )


RBA = Path(__file__).parents[2].parent / "shared" / "data" / "rba-sample-100k.csv.gz"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def test_dask_equals_pandas(client: Any) -> None:
    raw = pd.read_csv(RBA, nrows=20_000, dtype=str, keep_default_na=False)
    validated = validate(chunk_from_frame(raw))
    config, mode = StaticPolicySource().effective("batch", "")
    settings = BatchSettings(replay.Statistical(), Policy(config, mode), features=True)
    expected = score_log(validated, None, settings)
    got = score_log_dask(validated, None, settings, client, partitions=5)
    pd.testing.assert_frame_equal(plain(got.rows), plain(expected.rows))
    assert set(expected.rows["risk_level"]) == {"low", "medium", "high"}
