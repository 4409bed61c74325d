"""The secret detector measured on a corpus of positives and negatives (tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

from memory import secrets

CORPUS = Path(__file__).parents[1] / "data" / "secrets_corpus.jsonl"


def _load() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if r["secret"]], [r for r in rows if not r["secret"]]


def test_recall_and_false_positives_on_the_corpus() -> None:
    positives, negatives = _load()
    assert len(positives) >= 40 and len(negatives) >= 40
    missed = [r["text"] for r in positives if r["secret"] in secrets.redact(r["text"])[0]]
    flagged = [r["text"] for r in negatives if secrets.contains_secret(r["text"])]
    recall = 1 - len(missed) / len(positives)
    false_positive_rate = len(flagged) / len(negatives)
    print(f"secret corpus: recall {recall:.3f}, false positives {false_positive_rate:.3f}")
    assert recall >= 0.95, missed
    assert false_positive_rate <= 0.03, flagged


def test_numbers_are_reported_in_their_family() -> None:
    # Cards, IBANs and national ids are told apart by checksums and formats, so their family
    # is exact; keys and passwords overlap (a password in a URL is both), so only detection
    # is asserted for them above.
    positives, _ = _load()
    for row in positives:
        kinds = {m.kind for m in secrets.find_secrets(row["text"])}
        assert kinds <= set(secrets.KIND_CATEGORY)
        if row["category"] in ("financial", "national_id"):
            assert row["category"] in {secrets.KIND_CATEGORY[k] for k in kinds}, (row, kinds)


def test_redaction_is_idempotent() -> None:
    positives, _ = _load()
    for row in positives:
        once = secrets.redact(row["text"])[0]
        assert secrets.redact(once)[0] == once
