"""bench/ingest.py still runs: a small subprocess, checked by its JSON."""

from __future__ import annotations

import pytest

from tests.benchrun import assert_explains_itself, run_script


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_ingest_a_few_cards_twice(db):
    # the script itself fails unless the first pass adds every card and the second
    # finds every one unchanged
    result = run_script("ingest.py", "--cards", "120", "--db", db)
    assert {"cards_per_s", "reingest_cards_per_s"} <= result.keys()
    assert result["feed_items_per_s"] > 0 and result["reingest_feed_items_per_s"] > 0
    assert result["cards"] == 120 and result["db"] == db
    assert result["cards_per_s"] > 0
    assert result["reingest_cards_per_s"] > 0


def test_ingest_quick_is_small():
    assert run_script("ingest.py", "--quick")["cards"] == 500


def test_ingest_explains_itself():
    assert_explains_itself("ingest.py")
