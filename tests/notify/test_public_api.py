"""The package's public API is exactly what ``__all__`` lists."""

from __future__ import annotations

import riskscore.notify as notify


def test_all_is_complete_and_sorted() -> None:
    public = {n for n in vars(notify) if not n.startswith("_")} - {
        "annotations",
        "notifier",
        "outbox",
        "templates",
        "tokens",
    }
    assert set(notify.__all__) == public
    assert list(notify.__all__) == sorted(notify.__all__)
    for name in notify.__all__:
        assert getattr(notify, name) is not None
