"""Writes a third check batch of `benchmarks/evolve.py`: `benchmarks/data/evolve_check3.jsonl`.

Written by hand, before any result on it was seen and before the change it checks: each
revision is its own sentence (no template shared between cases), on topics in none of the
other files (board games, wine, yoga, winter sport, commuting, lodging, writing tools,
keyboards, TV, nightlife, puzzles, sport, beer, music formats, languages, seats, budgeting,
dancing, birds, opera, pottery, diving, crypto, collecting, sleep rhythm, diet, shifts,
study, cities). Phrasings deliberately unlike those of the dev file and the earlier batches:
"in favour of", "X has replaced Y", "I'm done with", "X is out, Y is in", "win over",
"lost interest", untargeted new states ("... is what I enjoy now"), paraphrased cessations
("doesn't excite me anymore", "I've grown out of", "I'm over X"), a place stated without a
verb of moving ("Home is Kyoto now"). `distinct` cases carry a change cue on an unrelated
topic: they must add a belief, never replace the first one.

Regenerate with `python benchmarks/evolve_data3.py` (deterministic).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "data"

# (setup, turn, query, new marker or None for a retraction)
REVISIONS: list[tuple[str, str, str, str | None]] = [
    (
        "I love playing chess online.",
        "I've dropped online chess in favour of Go.",
        "Suggest a game for my lunch break.",
        "Go",
    ),
    (
        "I drink red wine with dinner.",
        "These days I pick white wine over red.",
        "What should I serve at my dinner party?",
        "white wine",
    ),
    ("I'm really into yoga.", "Pilates has replaced yoga for me.", "Plan my Tuesday.", "Pilates"),
    (
        "I ski every winter.",
        "I'm done with skiing, snowboarding is my thing now.",
        "Plan a winter holiday in the Alps.",
        "snowboarding",
    ),
    (
        "I ride a motorbike to work.",
        "I got rid of my motorbike; I commute by e-scooter now.",
        "How should I get to the office in the rain?",
        "e-scooter",
    ),
    (
        "I prefer staying in hostels.",
        "Hostels are out, Airbnb apartments are in.",
        "Book me somewhere to stay in Prague.",
        "Airbnb apartments",
    ),
    (
        "I write with fountain pens.",
        "I've swapped fountain pens out for a tablet and stylus.",
        "What should I buy for taking notes in lectures?",
        "tablet and stylus",
    ),
    (
        "I like mechanical keyboards with loud switches.",
        "Quiet low-profile keyboards win over loud mechanical ones for me now.",
        "Which keyboard should I get for the office?",
        "low-profile keyboards",
    ),
    (
        "I watch a lot of anime.",
        "I've lost interest in anime and got into K-dramas instead.",
        "What should I watch tonight?",
        "K-dramas",
    ),
    (
        "I enjoy karaoke nights.",
        "Karaoke nights are no longer my thing; I go to stand-up comedy shows instead.",
        "What should we do on Friday night?",
        "stand-up comedy",
    ),
    # untargeted: the old state is not named
    (
        "I'm obsessed with sudoku puzzles.",
        "Crosswords are what I really enjoy now.",
        "Give me a puzzle for my train ride.",
        "Crosswords",
    ),
    (
        "My favourite sport is bouldering.",
        "These days my favourite sport is sailing.",
        "Plan an active weekend for me.",
        "sailing",
    ),
    (
        "My go-to beer is an IPA.",
        "Lately my go-to beer has been a Belgian wheat beer.",
        "What should I order at the brewery?",
        "Belgian wheat beer",
    ),
    (
        "I listen to music on vinyl records.",
        "Streaming on Spotify suits me better these days.",
        "How should I listen to the new album?",
        "Spotify",
    ),
    (
        "I usually take the subway to work.",
        "I've started walking to work instead.",
        "How long will my commute take tomorrow?",
        "walking to work",
    ),
    (
        "I'm learning Spanish.",
        "I've switched to learning Japanese.",
        "Recommend a language app for me.",
        "Japanese",
    ),
    (
        "I prefer window seats on planes.",
        "Aisle seats are my preference now.",
        "Book my flight to Chicago.",
        "Aisle seats",
    ),
    (
        "I keep my budget in a spreadsheet.",
        "I now track my budget with the YNAB app.",
        "How should I plan my spending this month?",
        "YNAB",
    ),
    # paraphrased cessations: nothing replaces the old state
    (
        "I'm crazy about salsa dancing.",
        "Salsa dancing doesn't excite me anymore.",
        "What should I do on Saturday evening?",
        None,
    ),
    (
        "I go birdwatching every Sunday.",
        "I no longer spend my Sundays birdwatching.",
        "Plan my Sunday.",
        None,
    ),
    ("I'm a huge opera fan.", "I've grown out of opera.", "What show should I see?", None),
    (
        "I do pottery classes on Thursdays.",
        "I stopped going to pottery on Thursdays.",
        "What should I do on Thursday evening?",
        None,
    ),
    ("I love scuba diving.", "I'm over scuba diving.", "Plan my trip to Thailand.", None),
    (
        "I'm into cryptocurrency investing.",
        "I want nothing to do with crypto anymore.",
        "Where should I put my savings?",
        None,
    ),
    (
        "I collect vintage watches.",
        "You can forget the vintage watch thing.",
        "What should I buy myself for my birthday?",
        None,
    ),
    # identities and states
    (
        "I'm a night owl.",
        "I've become an early bird.",
        "When should I schedule my workouts?",
        "early bird",
    ),
    (
        "I'm gluten-free.",
        "I eat gluten again.",
        "Suggest a breakfast for tomorrow.",
        "gluten",
    ),
    (
        "I work night shifts.",
        "I'm on day shifts now.",
        "When should I go grocery shopping?",
        "day shifts",
    ),
    (
        "I'm a student.",
        "I graduated and I'm working as an engineer now.",
        "How should I budget my income?",
        "engineer",
    ),
    # places
    ("I'm based in Denver.", "Home is Kyoto now.", "Find me a dentist near home.", "Kyoto"),
    (
        "I live in Cape Town.",
        "I've settled in Nairobi.",
        "What's the weather like where I live?",
        "Nairobi",
    ),
    (
        "My apartment is in Brooklyn.",
        "We're in Queens these days.",
        "Recommend a bakery near my place.",
        "Queens",
    ),
]

# A revision beside a belief on a near topic that must stay: (old, kept, turn, query, new).
KEEPS: list[tuple[str, str, str, str, str | None]] = [
    (
        "I love chess.",
        "I enjoy reading about history.",
        "I've dropped chess in favour of backgammon.",
        "Suggest a game for tonight.",
        "backgammon",
    ),
    (
        "I drink oat milk in my coffee.",
        "I drink two coffees a day.",
        "I've given up oat milk, it's almond milk for me now.",
        "What should I add to my latte?",
        "almond milk",
    ),
    (
        "I go to spin classes.",
        "I do strength training twice a week.",
        "I'm not doing spin classes any more.",
        "Plan my gym week.",
        None,
    ),
]

RESTATEMENTS: list[tuple[str, str]] = [
    ("I'm allergic to bee stings.", "Bee stings give me a severe allergic reaction."),
    ("I run every morning before work.", "Every morning before work I go for a run."),
    ("I prefer aisle seats on flights.", "On flights I always pick an aisle seat."),
    ("I hate loud restaurants.", "I can't stand noisy restaurants."),
    ("I speak fluent German.", "I'm fluent in German."),
    ("I don't drink alcohol.", "I never drink alcohol."),
]

# A change cue on another topic than the first statement: a new belief, the first one stays.
DISTINCT: list[tuple[str, str]] = [
    ("I love hiking in the hills.", "I've started learning the cello."),
    ("I'm vegetarian.", "I now work from home on Fridays."),
    ("I like jazz records.", "These days I prefer tea to coffee."),
    ("I play badminton on Wednesdays.", "I switched from Android to an iPhone."),
    ("I'm a nurse.", "I moved to a bigger apartment."),
    ("I enjoy science fiction novels.", "I've given up sugar."),
    ("I love my road bike.", "Turns out I prefer window seats now."),
    ("I speak French.", "I'm done with Facebook."),
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
        _revision(f"chk3-rev-{i}", setup, turn, query, new)
        for i, (setup, turn, query, new) in enumerate(REVISIONS)
    ]
    for i, (old, kept, turn, query, new) in enumerate(KEEPS):
        case = _revision(f"chk3-keep-{i}", old, turn, query, new)
        case["keep"] = [kept]
        out.append(case)
    out += [
        {"id": f"chk3-same-{i}", "kind": "restatement", "setup": [a], "turn": b}
        for i, (a, b) in enumerate(RESTATEMENTS)
    ]
    out += [
        {"id": f"chk3-distinct-{i}", "kind": "distinct", "setup": [a], "turn": b}
        for i, (a, b) in enumerate(DISTINCT)
    ]
    return out


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    path = HERE / "evolve_check3.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in scenarios()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
