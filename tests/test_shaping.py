"""Matching and ranking rules of readers' filters and weights (pure functions), and the
planner's shortcut ranking agreeing with the on-demand one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from digestbot import store
from digestbot.delivery.window import Window
from digestbot.readers.shaping import (
    HALF_LIFE,
    WEIGHT_BOUND,
    compile_filters,
    decayed,
    moved,
    normalise,
    passes,
    rank,
)
from tests.factories import make_brief

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def item(n: int, **fields) -> store.Item:
    return store.Item(n, make_brief(**fields))


def test_normalise_drops_latin_accents_and_case_but_keeps_devanagari_signs():
    assert normalise("Café CRÈME, naïve!") == "cafe creme naive"
    assert normalise("Ｆｕｌｌ-width") == "full width"
    assert normalise("हिंदी समाचार") == "हिंदी समाचार"  # its vowel signs and anusvara kept
    assert normalise("हिंदी") != normalise("हिंदु") != normalise("हिंद")


def test_mutes_are_whole_words_or_phrases_in_title_summary_or_tags():
    brief = item(1, title="Mainland chip fabs", summary="New export rules.", tags=("policy",))
    assert passes([("mute", "main")], brief)
    assert not passes([("mute", "mainland")], brief)
    assert not passes([("mute", "export rules")], brief)
    assert passes([("mute", "rules export")], brief)
    assert not passes([("mute", "policy")], brief)
    assert not passes([("tag", "policy")], brief)
    assert passes([("tag", "pol")], brief)


def test_only_keeps_any_of_its_words_and_mutes_still_win():
    brief = item(1, title="Drones deliver mail", tags=("robotics",))
    assert passes([("only", "drones"), ("only", "rockets")], brief)
    assert not passes([("only", "rockets")], brief)
    assert not passes([("only", "drones"), ("mute", "mail")], brief)


def test_sources_match_the_host_and_its_subdomains():
    matcher = compile_filters((("source", "example.com"),))
    assert not matcher.passes(item(1, url="https://www.example.com/a"))
    assert not matcher.passes(item(2, url="https://news.example.com/a"))
    assert matcher.passes(item(3, url="https://notexample.com/a"))
    assert matcher.passes(item(4, url=None))


def test_weights_are_bounded_and_fade_over_weeks():
    value = 0.0
    for _ in range(10):
        value = moved(value, -1.0)
    assert value == -WEIGHT_BOUND
    assert decayed(2.0, NOW, NOW + HALF_LIFE) == 1.0
    assert decayed(2.0, NOW, NOW + timedelta(weeks=20)) == 0.0


def test_rank_reorders_by_score_plus_weights_and_hides_nothing():
    items = [
        item(1, score=8, tags=("robotics",)),
        item(2, score=8, tags=("chips",)),
        item(3, score=6, tags=("chips",)),
    ]
    ranked = rank(items, {"robotics": -1.0})
    assert [i.id for i in ranked] == [2, 1, 3]
    assert [i.id for i in rank(items, {"chips": 3.0})] == [2, 3, 1]
    assert [i.id for i in rank(items, {})] == [1, 2, 3]


def test_the_planners_weighted_choice_is_the_readers_ranking():
    rng = random.Random(16)
    tags = [f"t{n}" for n in range(8)]
    items = sorted(
        (
            item(n, score=rng.randint(1, 10), tags=tuple(rng.sample(tags, rng.randint(1, 3))))
            for n in range(1, 120)
        ),
        key=lambda i: -i.brief.score,
    )
    window = Window(items, 0, 200, {t: n for n, t in enumerate(tags)})
    for _ in range(200):
        followed = rng.sample(range(8), rng.randint(1, 4))
        weights = {t: rng.uniform(-3, 3) for t in rng.sample(tags, rng.randint(1, 4))}
        size = rng.randint(1, 15)
        chosen, total = window.select(followed, 0, 0, size, weights=weights)
        mine = [i for i in items if {tags[f] for f in followed} & set(i.brief.tags)]
        expected = [i.id for i in rank(mine, weights)[:size]]
        assert [items[p].id for p in chosen] == expected
        assert total == len(mine)
