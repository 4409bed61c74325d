import dataclasses
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory.inject import budget, render
from memory.models import ScoredBelief
from memory.prompts import PromptLibrary


def _beliefs(n: int) -> list[ScoredBelief]:
    return [
        ScoredBelief(
            id=f"bel_{i}",
            statement=f"I like tea number {i} <b>strong</b>",
            context="preferences" if i % 2 else "constraints",
            confidence=0.9,
            score=1.0 - i / 100,
            why={"via": "score", "rank": i},
        )
        for i in range(n)
    ]


def test_the_block_shows_the_cleaned_statements_and_the_audit_keeps_the_stored_ones():
    template = PromptLibrary().injection("default")
    beliefs = _beliefs(3)
    fitted = render.fit(template, beliefs, 400, "gpt-4o")
    assert "<b>" not in fitted.text and "(b)strong(/b)" in fitted.text
    assert fitted.beliefs == beliefs  # as stored, markup and all
    assert fitted.tokens == budget.count(fitted.text, "gpt-4o")
    # Given the cleaned statements (as a snapshot holds them), the same block.
    shown = [f"I like tea number {i} (b)strong(/b)" for i in range(3)]
    assert render.fit(template, beliefs, 400, "gpt-4o", shown).text == fitted.text


def test_the_template_reads_every_field_of_a_belief():
    template = PromptLibrary().injection("default")
    fitted = render.fit(template, _beliefs(2), 400, "gpt-4o", ["first", "second"])
    # Contexts (for the headers) and confidences come from the belief itself.
    assert "constraints:" in fitted.text and "preferences:" in fitted.text
    assert '"first"' in fitted.text and '"second"' in fitted.text


def test_the_longest_prefix_that_fits_the_budget():
    template = PromptLibrary().injection("compact")
    beliefs = _beliefs(40)
    whole = render.fit(template, beliefs, 100_000, "gpt-4o")
    assert len(whole.beliefs) == 40
    fitted = render.fit(template, beliefs, whole.tokens // 2, "gpt-4o")
    assert 0 < len(fitted.beliefs) < 40
    assert fitted.tokens <= whole.tokens // 2
    assert fitted.beliefs == beliefs[: len(fitted.beliefs)]
    one_more = render.fit(template, beliefs[: len(fitted.beliefs) + 1], 100_000, "gpt-4o")
    assert one_more.tokens > whole.tokens // 2  # nothing longer would have fitted


def test_shown_statements_must_match_the_beliefs():
    template = PromptLibrary().injection("default")
    with pytest.raises(ValueError):
        render.fit(template, _beliefs(2), 400, "gpt-4o", ["only one"])


# Lines of words, punctuation, spaces, digits, other scripts and emoji; contractions too.
PIECE_TEXT = st.lists(
    st.sampled_from(
        list("ab Z\t.,;\"'!?-()<>:0123456789éü日🙂\r\u00a0") + ["'s", "'re", "’ll", "; "]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECE_TEXT, max_size=6))
def test_counting_a_block_by_its_lines_is_exact(lines):
    counter = budget.BlockCounter()
    text = "\n".join(lines)
    for model in ("gpt-4o", "gpt-4", "some-unknown-model"):
        assert counter.count(text, model) == budget.count(text, model)
        assert counter.count(text, model) == budget.count(text, model)  # from the cache


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECE_TEXT, max_size=6))
def test_a_block_is_cut_after_each_line_break_before_a_non_space_and_each_semicolon_space(lines):
    text = "\n".join(lines)
    # The cuts as a zero-width split states them (slow: its lookbehinds run at every position).
    assert budget.pieces(text) == re.split(r"(?<=\n)(?=\S)|(?<=;)(?= )", text)


def test_a_block_counted_from_cached_lines_matches_the_tokenizer():
    template = PromptLibrary().injection("default")
    counter = budget.BlockCounter(max_pieces=8)  # cleared on the way: still exact
    beliefs = _beliefs(30)
    for size in (30, 10, 20, 5):
        fitted = render.fit(template, beliefs[:size], 400, "gpt-4o", count=counter.count)
        assert fitted.tokens == budget.count(fitted.text, "gpt-4o")
        assert fitted.beliefs == render.fit(template, beliefs[:size], 400, "gpt-4o").beliefs


class _CountingRenders:
    """A compiled template that counts its renders."""

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self.renders = 0

    def render(self, **context: Any) -> str:
        self.renders += 1
        return str(self.compiled.render(**context))


def test_a_binding_budget_is_met_in_one_render_mostly_and_two_at_most():
    shipped = PromptLibrary().injection("default")
    counting = _CountingRenders(shipped.compiled)
    template = dataclasses.replace(shipped, sha256="counting", compiled=counting)
    # Statements with openings of their own, so that no line folds (`compact`).
    openings = ["I prefer", "My budget is", "We avoid", "Usually I pick", "I never book", "Mostly"]
    topics = ["tea", "hiking boots", "jazz", "window seats", "spicy food", "night trains"]
    beliefs = [
        ScoredBelief(
            id=f"bel_{i}",
            statement=f"{openings[i % 6]} {topics[(i // 6) % 6]} with {i} friends, most weeks.",
            context=("preferences", "constraints", "style")[i % 3],
            confidence=0.9,
            score=1.0 - i / 100,
        )
        for i in range(20)
    ]
    render.fit(template, beliefs, 100_000, "gpt-4o")  # the framing is counted once, here
    renders = []
    for limit in range(40, 260, 10):  # every one binds: all 20 take 265 tokens
        counting.renders = 0
        fitted = render.fit(template, beliefs, limit, "gpt-4o")
        renders.append(counting.renders)
        assert fitted.tokens <= limit
        assert 0 < len(fitted.beliefs) < len(beliefs)
        assert fitted.beliefs == beliefs[: len(fitted.beliefs)]
        # Within a belief of the longest prefix that fits (where the estimate lands short).
        two_more = render.fit(shipped, beliefs[: len(fitted.beliefs) + 2], 100_000, "gpt-4o")
        assert two_more.tokens > limit
    assert max(renders) <= 2
    assert sum(renders) <= 1.5 * len(renders)  # rendering all 20 first took two every time
