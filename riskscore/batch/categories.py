"""Text columns as pandas categoricals: built, factorized and stacked without rehashing rows.

Batch keeps every text column as integer codes over its distinct values from
validation on (batch/validate.py), so each value is checked, cleaned and
looked up once and later stages group by the codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
from numpy.typing import NDArray

Ints = NDArray[np.int64]


def categorical(codes: Ints, values: NDArray[Any]) -> pd.Categorical:
    """Rows ``values[codes]`` as a categorical; equal values share a category.

    With ``codes`` numbered by first appearance, so are the result's.
    """
    merged, distinct = pd.factorize(values)
    categories = pd.Index(np.asarray(distinct, dtype=object), dtype=object)
    return pd.Categorical.from_codes(merged.take(codes), categories=categories)


def factorized(raw: pd.Series[str]) -> tuple[NDArray[np.intp], pd.Series[str]]:
    """Codes and distinct values of a text column: every check runs once per distinct value."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        codes: NDArray[np.intp] = np.asarray(raw.cat.codes, dtype=np.intp)
        return codes, pd.Series(raw.cat.categories, dtype="str")
    codes, uniques = pd.factorize(raw)
    return codes.astype(np.intp, copy=False), pd.Series(uniques, dtype="str")


def as_categorical(values: pd.Series | pd.Categorical | NDArray[Any]) -> pd.Categorical:
    """``values`` as a categorical: a categorical's own, else factorized (no sorting)."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.Categorical):
        return values
    # A missing value (code -1) stays missing.
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    categories = pd.Index(np.asarray(distinct, dtype=object), dtype=object)
    return pd.Categorical.from_codes(codes, categories=categories)


def _united(parts: list[pd.Categorical]) -> pd.Categorical:
    """Categoricals stacked over the union of their categories (Arrow unifies them in C++)."""
    arrays = [
        pa.DictionaryArray.from_arrays(
            pa.array(np.asarray(part.codes, dtype=np.int32), mask=np.asarray(part.codes) < 0),
            pa.array(np.asarray(part.categories, dtype=object), type=pa.string()),
        )
        for part in parts
    ]
    chunks = pa.chunked_array(arrays).unify_dictionaries().chunks
    codes = np.concatenate([c.indices.fill_null(-1).to_numpy() for c in chunks]).astype(np.int64)
    values = chunks[0].dictionary.to_numpy(zero_copy_only=False)
    categories = pd.Index(np.asarray(values, dtype=object), dtype=object)
    return pd.Categorical.from_codes(codes, categories=categories)


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames stacked; a column categorical in any frame is categorical (categories united).

    Text columns of the other frames join it as they are (context rows in
    front of a chunk: batch/state.py).
    """
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    joined: dict[str, Any] = {}
    for name in frames[0].columns:
        parts = [frame[name] for frame in frames]
        if any(isinstance(p.dtype, pd.CategoricalDtype) for p in parts):
            joined[name] = pd.Series(_united([as_categorical(p) for p in parts]))
        else:
            joined[name] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(joined, index=pd.RangeIndex(sum(len(f) for f in frames)))
