import pytest

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
