"""Writes a fourth check batch of `benchmarks/evolve.py`: `benchmarks/data/evolve_check4.jsonl`.

chk3 (benchmarks/evolve_data3.py) was written before the change-of-state frames, but its
misses were then read while building them, so it is no longer held out. This batch was written
after that work and before any result on it: its figures are the clean ones. Hand-written,
one sentence per case, topics in no other file (podcasts, curries, rowing, motor racing,
cars, interiors, brass bands, groceries, dance music, flying class, horror novels, gaming,
banking, Hamburg, iced coffee, violin lessons), and verbs of change none of the code names
("binned", "gone off", "sold ... and bought", "shifted from", "can't bear", "hardly ever").

Regenerate with `python benchmarks/evolve_data4.py` (deterministic).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "data"

# (setup, turn, query, new marker or None for a retraction)
REVISIONS: list[tuple[str, str, str, str | None]] = [
    (
        "I'm a devoted fan of crime podcasts.",
        "I've binned crime podcasts and listen to audiobooks now.",
        "What should I listen to on my drive?",
        "audiobooks",
    ),
    (
        "I enjoy cooking Indian curries.",
        "Lately, Mexican food is what I cook most, not Indian curries.",
        "What should I make for dinner on Sunday?",
        "Mexican food",
    ),
    ("I'm keen on rowing.", "I've traded rowing for rock climbing.", "Plan my weekend.", "rock"),
    (
        "I like watching Formula 1.",
        "Formula 1 bores me these days.",
        "What should I watch on Sunday afternoon?",
        None,
    ),
    (
        "I drive a Toyota Corolla.",
        "I sold the Corolla and bought a Tesla.",
        "Where should I get my car serviced?",
        "Tesla",
    ),
    (
        "I'm a fan of minimalist interior design.",
        "I've gone off minimalism; I'm into cozy maximalist rooms now.",
        "Help me redecorate my living room.",
        "maximalist",
    ),
    (
        "I play the trumpet in a band.",
        "I left the band and no longer play the trumpet.",
        "What should I do on Tuesday evenings?",
        None,
    ),
    (
        "I usually shop at big supermarkets.",
        "Local farmers' markets are where I shop now.",
        "Where should I buy vegetables this week?",
        "farmers' markets",
    ),
    (
        "I'm into electronic dance music.",
        "My taste has shifted from electronic dance music to folk music.",
        "Find me a concert this month.",
        "folk music",
    ),
    (
        "I fly economy class.",
        "I've upgraded to business class for all my flights.",
        "Book my flight to Tokyo.",
        "business class",
    ),
    ("I love horror novels.", "I can't bear horror novels anymore.", "Recommend a book.", None),
    ("I'm an avid gamer.", "I hardly ever game these days.", "Plan a relaxing evening.", None),
    (
        "I work at a bank.",
        "I left my bank job and now work at a startup.",
        "How should I prepare for my performance review?",
        "startup",
    ),
    ("I live in Hamburg.", "Our new home is in Munich.", "Find a park near my home.", "Munich"),
    (
        "I'm a fan of iced coffee.",
        "Please don't remember that I like iced coffee.",
        "What should I order at the cafe?",
        None,
    ),
    (
        "I'm learning the violin.",
        "I'm not learning the violin any longer.",
        "What should I practise tonight?",
        None,
    ),
]

KEEPS: list[tuple[str, str, str, str, str | None]] = [
    (
        "I like Italian wine.",
        "I like Italian opera.",
        "I'm done with Italian wine.",
        "What should I bring to the dinner?",
        None,
    ),
]

RESTATEMENTS: list[tuple[str, str]] = [
    ("I love spicy food.", "Spicy dishes are my favourite."),
    ("I'm afraid of flying.", "Flying scares me."),
]

DISTINCT: list[tuple[str, str]] = [
    ("I love skiing.", "These days I'm reading a lot of poetry."),
    ("I'm vegan.", "I've stopped using Twitter."),
    ("I play the piano.", "I swapped my car for a bicycle."),
    ("I like rainy days.", "I'm over my cold now."),
]


def _revision(case: str, setup: str, turn: str, query: str, new: str | None) -> dict[str, Any]:
    return {
        "id": case,
        "kind": "revision",
        "setup": [setup],
        "turn": turn,
        "query": query,
        "expect": "supersede" if new else "retract",
        "new_marker": new,
    }


def scenarios() -> list[dict[str, Any]]:
    out = [
        _revision(f"chk4-rev-{i}", setup, turn, query, new)
        for i, (setup, turn, query, new) in enumerate(REVISIONS)
    ]
    for i, (old, kept, turn, query, new) in enumerate(KEEPS):
        case = _revision(f"chk4-keep-{i}", old, turn, query, new)
        case["keep"] = [kept]
        out.append(case)
    out += [
        {"id": f"chk4-same-{i}", "kind": "restatement", "setup": [a], "turn": b}
        for i, (a, b) in enumerate(RESTATEMENTS)
    ]
    out += [
        {"id": f"chk4-distinct-{i}", "kind": "distinct", "setup": [a], "turn": b}
        for i, (a, b) in enumerate(DISTINCT)
    ]
    return out


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    path = HERE / "evolve_check4.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in scenarios()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
