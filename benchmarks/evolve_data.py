"""Writes the scenario files of `benchmarks/evolve.py`: a development file and a check file.

The two files share no phrasing template and no topic: the dev file's topics follow the
PrefEval topics of `../shared/eval` (shows, travel, restaurants, learning, fashion, beauty,
fitness, games, cars, pets), the check file's are others (music, work, tools, sport, drinks,
transport, reading, home...). The check file approximates a held-out set: nothing in the code
is tuned against it. Regenerate with `python benchmarks/evolve_data.py` (deterministic).

Scenario kinds:
- revision: `setup` turns state the old state, `turn` changes it; `query` is a later question
  where the state matters. `expect` is "supersede" (a new state replaces the old) or
  "retract" (nothing replaces it).
- restatement: `setup` states something, `turn` says it again in other words.
- nonstatement: `turn` says nothing lasting about the user (`store` false), or a lasting
  answer-style preference (`store` true).
- observation: `setup` states something; `observation` supports (weight > 0) or weakens it.
- relative_time: `turn` dates a state relative to the turn ("last month"); `days_ago` is the
  expected distance of `valid_from` from the turn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "data"

# -- development topics (the PrefEval topics) -------------------------------------------------

# (liked thing, another thing of its kind, a question where it matters)
DEV_LIKES = [
    ("horror movies", "romantic comedies", "Recommend a movie for tonight."),
    ("reality TV shows", "nature documentaries", "What should I watch this weekend?"),
    ("beach holidays", "hiking trips in the mountains", "Plan a week of vacation for me."),
    ("guided bus tours", "exploring cities on foot", "How should I spend my day in Rome?"),
    ("spicy Thai food", "mild Japanese dishes", "Pick a restaurant for dinner tonight."),
    ("fast food chains", "small family-run bistros", "Where should we eat on our trip?"),
    ("video courses", "printed textbooks", "How can I learn statistics this summer?"),
    ("flashy designer logos", "plain minimalist clothing", "Help me choose a new jacket."),
    ("heavy makeup", "a natural no-makeup look", "What should I wear for a wedding?"),
    ("running on a treadmill", "swimming laps outdoors", "Suggest a weekly workout plan."),
    ("competitive shooter games", "cozy farming games", "Recommend a game to play tonight."),
    ("big SUVs", "small electric hatchbacks", "Which car should I buy next?"),
    ("cats", "dogs", "What pet would suit my apartment?"),
    ("strategy board games", "party card games", "Suggest a game for a family evening."),
    ("crowded music festivals", "quiet jazz bars", "What should I do on Saturday night?"),
]
# (identity adjective/noun, a question where it matters)
DEV_IDENTITIES = [
    ("vegetarian", "Suggest a dinner recipe."),
    ("a night owl", "When should I schedule my workouts?"),
    ("a big fan of sci-fi series", "Recommend a TV series."),
    ("afraid of flying", "How should I travel from Berlin to Madrid?"),
    ("a beginner at painting", "Which art class should I take?"),
    ("on a strict budget for clothes", "Where should I shop for a new coat?"),
]
DEV_PLACES = [
    ("Paris", "Berlin", "Recommend a weekend activity near home."),
    ("Chicago", "Austin", "Where should I go for brunch near where I live?"),
    ("a small village", "the city center", "Should I get a car?"),
]

# -- check topics (not in the dev file) -------------------------------------------------------

CHECK_LIKES = [
    ("heavy metal", "classical piano music", "Make me a playlist for the evening."),
    ("working late at night", "starting work early in the morning", "Plan my workday."),
    ("Windows laptops", "MacBooks", "Which computer should I get for work?"),
    ("playing tennis", "playing golf", "What sport should I do this weekend?"),
    ("black coffee", "green tea", "What should I drink in the afternoon?"),
    ("driving to work", "cycling to work", "How should I commute tomorrow?"),
    ("thick fantasy novels", "short poetry collections", "Recommend a book for my holiday."),
    ("gardening", "woodworking", "Suggest a hobby project for Sunday."),
    ("open-plan offices", "working from home", "Where should I work next week?"),
    ("Python", "Rust", "Which language should I use for my next side project?"),
    ("long podcasts", "short audiobooks", "What should I listen to on my walk?"),
    ("camping in tents", "staying in boutique hotels", "Plan a trip to the coast."),
]
CHECK_IDENTITIES = [
    ("a smoker", "How can I improve my breathing?"),
    ("lactose intolerant", "Suggest a breakfast."),
    ("a junior accountant", "What career course should I take?"),
    ("single", "Plan a relaxing weekend for me."),
    ("training for a marathon", "What should my week of exercise look like?"),
]
CHECK_PLACES = [
    ("Toronto", "Lisbon", "What should I do this evening around town?"),
    ("a suburb of London", "Edinburgh", "Recommend a day trip from home."),
]

# -- a second check batch (written before any result on it was seen) ------------------------
# Topics in neither file above: photography, sleep, money, phones, cooking, news, languages,
# art, shoes, social media, board sports, gardening plants, housing. Phrasings unlike both.
CHECK2_LIKES = [
    ("film cameras", "mirrorless digital cameras", "Which camera should I take on my trip?"),
    ("sleeping in on weekends", "getting up at dawn", "Plan my Saturday morning."),
    ("index funds", "buying individual stocks", "How should I invest my bonus?"),
    ("Android phones", "iPhones", "Help me pick a new phone."),
    ("baking bread at home", "grilling outdoors", "What should I cook for friends on Friday?"),
    ("watching TV news", "reading long-form journalism", "How should I catch up on the news?"),
    ("oil painting", "watercolors", "Which art supplies should I order?"),
    ("high heels", "flat sneakers", "What shoes should I pack for the conference?"),
    ("posting on Instagram", "writing a private journal", "How should I share my travel memories?"),
    ("surfing", "kayaking", "What should I do at the lake this summer?"),
    ("houseplants with big leaves", "cacti and succulents", "What plant should I buy for my desk?"),
    ("renting in the city", "owning a house in the countryside", "Should I look at mortgages?"),
]
CHECK2_IDENTITIES = [
    ("a coffee addict", "What should I order at the cafe?"),
    ("a heavy sleeper", "Do I need earplugs for the hostel?"),
    ("on the keto diet", "Suggest a lunch."),
    ("a member of a climbing gym", "How should I stay fit this winter?"),
]
CHECK2_PLACES = [
    ("Melbourne", "Singapore", "What should I do this weekend near home?"),
    ("a flat in Madrid", "a house near Valencia", "Where is the nearest good market?"),
]


def _check2_revisions() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (old, new, query) in enumerate(CHECK2_LIKES):
        forms = [
            (
                f"I really love {old}.",
                f"I've moved on from {old}; {new} suit me better now.",
                "supersede",
            ),
            (
                f"I'm passionate about {old}.",
                f"Lately I've been preferring {new} over {old}.",
                "supersede",
            ),
            (f"I'm a huge fan of {old}.", f"I ditched {old} for {new}.", "supersede"),
            (
                f"I enjoy {old} a lot.",
                f"{old[:1].upper()}{old[1:]} isn't for me anymore.",
                "retract",
            ),
            (
                f"I tend to go for {old}.",
                f"Please disregard my earlier comment on {old}.",
                "retract",
            ),
            (f"I'm all about {old}.", f"Turns out I actually prefer {new} now.", "supersede"),
            (f"I like {old}.", f"I gave up on {old}.", "retract"),
        ]
        setup, turn, expect = forms[i % len(forms)]
        out.append(_revision(f"chk2-rev-like-{i}", setup, turn, query, expect, new))
        setup, turn, expect = forms[(i + 2) % len(forms)]
        out.append(_revision(f"chk2-rev-like-{i}b", setup, turn, query, expect, new))
    for i, (identity, query) in enumerate(CHECK2_IDENTITIES):
        turn = [f"I'm not {identity} these days.", f"I quit being {identity}."][i % 2]
        out.append(_revision(f"chk2-rev-id-{i}", f"I'm {identity}.", turn, query, "retract", None))
    for i, (old, new, query) in enumerate(CHECK2_PLACES):
        turn = [f"We just moved to {new}.", f"I now live in {new}."][i % 2]
        out.append(
            _revision(f"chk2-rev-move-{i}", f"I live in {old}.", turn, query, "supersede", new)
        )
    return out


# A revision beside a belief on a near topic that must stay: (old, kept, turn, query, new).
CHECK2_KEEPS = [
    (
        "I love sushi.",
        "I drink green tea every morning.",
        "I switched from sushi to ramen.",
        "Pick a lunch spot.",
        "ramen",
    ),
    (
        "I play the guitar.",
        "I listen to jazz records.",
        "I don't play the guitar anymore.",
        "Suggest a relaxing evening.",
        None,
    ),
    (
        "I'm a fan of road cycling.",
        "I like running marathons.",
        "Actually, I now prefer mountain biking.",
        "Plan my training week.",
        "mountain biking",
    ),
    (
        "I live in Oslo.",
        "I work in a hospital.",
        "I relocated to Bergen.",
        "Find me a gym near home.",
        "Bergen",
    ),
]
DEV_KEEPS = [
    (
        "I love horror movies.",
        "I enjoy nature documentaries.",
        "I switched from horror movies to thrillers.",
        "Recommend something to watch.",
        "thrillers",
    ),
    (
        "I'm vegetarian.",
        "I like spicy food.",
        "I'm no longer vegetarian.",
        "Suggest a dinner recipe.",
        None,
    ),
    ("I like cats.", "I like dogs.", "I don't like cats anymore.", "Which pet should I get?", None),
    (
        "I live in Paris.",
        "I work as a nurse.",
        "I moved to Lyon.",
        "Recommend a weekend activity near home.",
        "Lyon",
    ),
]


def _keeps(items: list[tuple[str, str, str, str, str | None]], prefix: str) -> list[dict[str, Any]]:
    out = []
    for i, (old, kept, turn, query, new) in enumerate(items):
        case = _revision(f"{prefix}-{i}", old, turn, query, "supersede" if new else "retract", new)
        case["keep"] = [kept]
        out.append(case)
    return out


# Restatements in other words, and distinct statements on a near topic that must not merge.
CHECK2_RESTATEMENTS = [
    ("I can't sleep with the lights on.", "I need total darkness to fall asleep."),
    ("I take photos with film cameras.", "I shoot on film cameras."),
    ("I'm saving money for a house.", "I'm putting money aside to buy a house."),
    ("I don't like posting on social media.", "I dislike posting on social media."),
    ("I bake bread every weekend.", "Every weekend I bake my own bread."),
    ("I prefer flat shoes.", "I'd rather wear flat shoes."),
]
CHECK2_DISTINCT = [
    ("I like green tea.", "I like black coffee."),
    ("I'm allergic to peanuts.", "I'm allergic to cats."),
    ("I play tennis on Mondays.", "I play chess on Mondays."),
    ("I live in Lisbon.", "I work in Porto."),
    ("I love oil painting.", "I love watercolors."),
    ("I prefer Android phones.", "I prefer wireless headphones."),
]
DEV_DISTINCT = [
    ("I love horror movies.", "I love romantic comedies."),
    ("I'm vegetarian.", "I'm allergic to nuts."),
    ("I enjoy beach holidays.", "I enjoy city breaks."),
    ("I like spicy Thai food.", "I like mild Japanese dishes."),
    ("I have two dogs.", "I have a cat."),
    ("I prefer printed textbooks.", "I prefer video courses for coding."),
]


def _distinct(pairs: list[tuple[str, str]], prefix: str) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}-{i}", "kind": "distinct", "setup": [a], "turn": b}
        for i, (a, b) in enumerate(pairs)
    ]


def _dev_revisions() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (old, new, query) in enumerate(DEV_LIKES):
        forms = [
            (f"I love {old}.", f"I don't love {old} anymore. I prefer {new} now.", "supersede"),
            (f"I really enjoy {old}.", f"Actually, I now enjoy {new} much more.", "supersede"),
            (
                f"I'm really into {old}.",
                f"I've changed my mind about {old}: I prefer {new} these days.",
                "supersede",
            ),
            (f"I usually go for {old}.", f"I switched from {old} to {new}.", "supersede"),
            (f"I like {old}.", f"I used to like {old}, but now I like {new}.", "supersede"),
            (f"I enjoy {old}.", f"Forget what I said about {old}.", "retract"),
            (f"I love {old}.", f"I don't like {old} anymore.", "retract"),
        ]
        setup, turn, expect = forms[i % len(forms)]
        out.append(_revision(f"dev-rev-like-{i}", setup, turn, query, expect, new))
        setup, turn, expect = forms[(i + 3) % len(forms)]
        out.append(_revision(f"dev-rev-like-{i}b", setup, turn, query, expect, new))
    for i, (identity, query) in enumerate(DEV_IDENTITIES):
        out.append(
            _revision(
                f"dev-rev-id-{i}",
                f"I'm {identity}.",
                f"I'm no longer {identity}.",
                query,
                "retract",
                None,
            )
        )
    for i, (old, new, query) in enumerate(DEV_PLACES):
        out.append(
            _revision(
                f"dev-rev-move-{i}",
                f"I live in {old}.",
                f"I moved to {new}.",
                query,
                "supersede",
                new,
            )
        )
    return out


def _check_revisions() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (old, new, query) in enumerate(CHECK_LIKES):
        forms = [
            (
                f"I'm a big fan of {old}.",
                f"These days I'd rather have {new} than {old}.",
                "supersede",
            ),
            (f"I prefer {old}.", f"Change of plans: I prefer {new} now, not {old}.", "supersede"),
            (f"My favorite is {old}.", f"I've gone from {old} to {new}.", "supersede"),
            (f"I really like {old}.", f"I no longer like {old}.", "retract"),
            (f"I adore {old}.", f"Scratch what I told you about {old}.", "retract"),
            (f"I'm fond of {old}.", f"Not {old} anymore, I'm into {new} nowadays.", "supersede"),
            (f"I always choose {old}.", f"I replaced {old} with {new}.", "supersede"),
        ]
        setup, turn, expect = forms[i % len(forms)]
        out.append(_revision(f"chk-rev-like-{i}", setup, turn, query, expect, new))
        setup, turn, expect = forms[(i + 4) % len(forms)]
        out.append(_revision(f"chk-rev-like-{i}b", setup, turn, query, expect, new))
    for i, (identity, query) in enumerate(CHECK_IDENTITIES):
        turn = [f"I am not {identity} any more.", f"I stopped being {identity}."][i % 2]
        out.append(_revision(f"chk-rev-id-{i}", f"I am {identity}.", turn, query, "retract", None))
    for i, (old, new, query) in enumerate(CHECK_PLACES):
        turn = [f"I relocated to {new}.", f"I'm living in {new} now."][i % 2]
        out.append(
            _revision(f"chk-rev-move-{i}", f"I'm based in {old}.", turn, query, "supersede", new)
        )
    return out


def _revision(
    case: str, setup: str, turn: str, query: str, expect: str, new: str | None
) -> dict[str, Any]:
    return {
        "id": case,
        "kind": "revision",
        "setup": [setup],
        "turn": turn,
        "query": query,
        "expect": expect,
        "new_marker": new if expect == "supersede" else None,
    }


def _restatements(pairs: list[tuple[str, str]], prefix: str) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}-{i}", "kind": "restatement", "setup": [a], "turn": b}
        for i, (a, b) in enumerate(pairs)
    ]


DEV_RESTATEMENTS = [
    ("I'm vegetarian.", "I am a vegetarian."),
    ("I love horror movies.", "Horror movies are my favorite, I love them."),
    ("I prefer hiking trips in the mountains.", "I'd rather go hiking in the mountains."),
    ("I'm allergic to cats.", "I have an allergy to cats."),
    ("I enjoy cozy farming games.", "I really enjoy playing cozy farming games."),
    ("I like to travel on a budget.", "I prefer traveling on a tight budget."),
    ("I prefer printed textbooks.", "Honestly, I prefer printed textbooks over screens."),
    ("I drive an electric car.", "I'm driving an electric car these days."),
    ("I have two dogs.", "I have 2 dogs at home."),
    ("I don't eat spicy food.", "I do not eat spicy food."),
]
CHECK_RESTATEMENTS = [
    ("I'm lactose intolerant.", "I am intolerant to lactose."),
    ("I play tennis every week.", "Every week I play tennis."),
    ("I work as a nurse.", "I'm a nurse by profession."),
    ("I can't stand heavy metal.", "I really can't stand heavy metal music."),
    ("I commute by bike.", "I cycle to work every day."),
    ("I'm learning Spanish.", "I am currently learning Spanish."),
    ("I prefer green tea to coffee.", "I'd rather drink green tea than coffee."),
    ("I live in Lisbon.", "I'm living in Lisbon."),
]

DEV_NONSTATEMENTS = [
    ("Explain this like I'm a complete beginner.", False),
    ("Can you recommend a good horror movie?", False),
    ("I need to correct something from earlier.", False),
    ("I can't wait.", False),
    ("I'm so excited!", False),
    ("I see, thanks.", False),
    ("I cannot limit the size of widgets in this layout.", False),
    ("I have a question about my travel plans.", False),
    ("I want you to write a short poem about dogs.", False),
    ("I'm not sure what you mean.", False),
    ("I think that's a great idea.", False),
    ("I was wondering if you could help me with a cover letter.", False),
    ("I agree with that.", False),
    ("I love it, thank you!", False),
    ("I meant the second option, by the way.", False),
    ("Tell me about the best beaches in Spain.", False),
    ("I'm going to ask you a few questions about cars.", False),
    ("I got an error when I ran the script.", False),
    ("Always answer me in bullet points.", True),
    ("Please keep your answers short from now on.", True),
]
CHECK_NONSTATEMENTS = [
    ("Let me rephrase my last question.", False),
    ("I hope this makes sense.", False),
    ("I'm confused by your last answer.", False),
    ("I'd appreciate it if you could summarize this article.", False),
    ("I just realized I forgot to attach the file.", False),
    ("I can't believe it!", False),
    ("I'm back.", False),
    ("I'll try that and let you know.", False),
    ("I have one more question.", False),
    ("Summarize it as if I were a child.", False),
    ("I need a list of ten fantasy novels.", False),
    ("I'm done for today.", False),
    ("I am happy with that answer.", False),
    ("Oh well, I guess so.", False),
    ("I need this translated into French: I like my new house.", False),
    ("Could you make a table of the results?", False),
    ("Going forward, reply in plain language without jargon.", True),
    ("I always want concise answers with no emojis.", True),
]

DEV_OBSERVATIONS = [
    ("I'm vegetarian.", "clicked on 3 vegetarian recipes", 1.0),
    ("I love horror movies.", "watched four horror movies this week", 1.0),
    ("I prefer printed textbooks.", "bought two printed textbooks", 1.0),
    ("I enjoy beach holidays.", "booked a beach resort for August", 1.0),
    ("I like big SUVs.", "skipped every SUV listing and saved three hatchbacks", -1.0),
    ("I enjoy competitive shooter games.", "uninstalled all shooter games", -1.0),
]
CHECK_OBSERVATIONS = [
    ("I drink green tea every day.", "ordered a box of green tea", 1.0),
    ("I play tennis.", "booked a tennis court for Saturday", 1.0),
    ("I like heavy metal.", "skipped every metal song in the playlist", -1.0),
    ("I read fantasy novels.", "borrowed two fantasy novels from the library", 1.0),
]

DEV_TIMES = [
    ("I moved to Berlin last month.", 30),
    ("I started running two weeks ago.", 14),
    ("I adopted a cat last year.", 365),
    ("I became vegetarian 3 months ago.", 90),
]
CHECK_TIMES = [
    ("I took up knitting a couple of weeks ago.", 14),
    ("Since last week I've been working from home.", 7),
    ("I started learning Rust four months ago.", 120),
    ("I quit smoking two years ago.", 730),
]


def _observations(items: list[tuple[str, str, float]], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{i}",
            "kind": "observation",
            "setup": [setup],
            "observation": text,
            "weight": weight,
        }
        for i, (setup, text, weight) in enumerate(items)
    ]


def _nonstatements(items: list[tuple[str, bool]], prefix: str) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}-{i}", "kind": "nonstatement", "turn": text, "store": store}
        for i, (text, store) in enumerate(items)
    ]


def _times(items: list[tuple[str, int]], prefix: str) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}-{i}", "kind": "relative_time", "turn": text, "days_ago": days}
        for i, (text, days) in enumerate(items)
    ]


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    dev = [
        *_dev_revisions(),
        *_restatements(DEV_RESTATEMENTS, "dev-same"),
        *_nonstatements(DEV_NONSTATEMENTS, "dev-non"),
        *_observations(DEV_OBSERVATIONS, "dev-obs"),
        *_times(DEV_TIMES, "dev-time"),
        *_keeps(DEV_KEEPS, "dev-keep"),
        *_distinct(DEV_DISTINCT, "dev-distinct"),
    ]
    check = [
        *_check_revisions(),
        *_restatements(CHECK_RESTATEMENTS, "chk-same"),
        *_nonstatements(CHECK_NONSTATEMENTS, "chk-non"),
        *_observations(CHECK_OBSERVATIONS, "chk-obs"),
        *_times(CHECK_TIMES, "chk-time"),
        *_check2_revisions(),
        *_keeps(CHECK2_KEEPS, "chk2-keep"),
        *_restatements(CHECK2_RESTATEMENTS, "chk2-same"),
        *_distinct(CHECK2_DISTINCT, "chk2-distinct"),
    ]
    for name, items in (("evolve_dev.jsonl", dev), ("evolve_check.jsonl", check)):
        with (HERE / name).open("w") as out:
            for item in items:
                out.write(json.dumps(item) + "\n")
        print(f"{name}: {len(items)} scenarios")


if __name__ == "__main__":
    main()
