"""The texts a belief is indexed under ("views"), chosen once, when the belief is written.

Why views
    A preference is often stated without the situation it matters in: "I have a severe peanut
    allergy" says nothing about restaurants, yet it matters most when the user asks for places
    to eat in Bangkok. A small embedding model (MiniLM) does not bridge that gap on its own, so
    at write time we attach the everyday situations the belief is closest to, from a fixed,
    general list of life areas (not tied to any evaluation topic). At query time a request that
    lands in one of those situations lifts every belief attached to it, which routes the query
    to the right area of the user's model; the statement itself still orders beliefs within it.

The first view is always the statement itself: `memory.ranking.rank` scores it as the belief's
own text and every later view as a situation it applies to. No LLM is involved: the situations
are picked by cosine similarity with the same local embedder, so writing stays offline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BEARS_ON",
    "DEFAULT_TABLE",
    "DERIVED_FROM",
    "SITUATIONS",
    "SITUATIONS_PER_BELIEF",
    "SituationTable",
    "index_views",
    "situation_texts",
]

# Everyday situations an assistant is asked about, worded as short topic lists (what a request
# mentions), broad enough to cover any user; a belief gets the few it is closest to.
SITUATIONS: tuple[str, ...] = (
    "eating out at restaurants, cafes and bars",
    "street food, snacks and local dishes when travelling",
    "cooking at home, recipes and meal planning",
    "groceries and food shopping",
    "diet, nutrition and allergies",
    "drinks, coffee, wine and alcohol",
    "planning a trip, vacation or holiday",
    "sightseeing, tours and things to do in a city",
    "outdoor activities, hiking, beaches and nature",
    "hotels, lodging and places to stay",
    "flights, trains, cars and getting around",
    "nightlife, parties and social events",
    "museums, art, culture and history",
    "movies, films and cinema",
    "tv shows, series and streaming",
    "live shows, theater, comedy and concerts",
    "music, songs, artists and playlists",
    "books, reading and podcasts",
    "video games, board games and gaming",
    "sports, watching or playing games",
    "exercise, workouts, gym and fitness routines",
    "health, medical conditions and medication",
    "mental health, stress and relaxation",
    "sleep and daily routines",
    "skincare, makeup, hair and beauty products",
    "clothes, fashion, shoes and accessories",
    "shopping for products and gifts",
    "cars, vehicles, motorcycles and driving",
    "home, furniture, decor and gardening",
    "electronics, phones, computers and gadgets",
    "software, apps and programming",
    "pets, dogs, cats and animal care",
    "children, parenting and family",
    "relationships, dating and friends",
    "learning, courses, studying and education",
    "work, career, jobs and the office",
    "money, budgeting, finance and prices",
    "writing, communication style and tone of answers",
    "hobbies, crafts and creative projects",
    "environment, sustainability and ethics",
    "religion, values and beliefs",
    "language, culture and where the user lives",
    "weather, climate and seasons",
    "accessibility, disabilities and physical limitations",
    "safety, privacy and security",
    "animal welfare, cruelty-free and animal-derived products",
    "fears, phobias and what makes the user uncomfortable",
)

_EATING = (
    "eating out at restaurants, cafes and bars",
    "street food, snacks and local dishes when travelling",
    "cooking at home, recipes and meal planning",
    "groceries and food shopping",
)
_DOING = (
    "sightseeing, tours and things to do in a city",
    "outdoor activities, hiking, beaches and nature",
    "exercise, workouts, gym and fitness routines",
    "planning a trip, vacation or holiday",
)
_BUYING = (
    "shopping for products and gifts",
    "clothes, fashion, shoes and accessories",
    "skincare, makeup, hair and beauty products",
)
# Cross-cutting areas: a constraint stated in one of them (an allergy, a fear, an ethical
# choice) bites whenever a request lands in the areas listed. A belief nearest to such an area
# is also indexed under those, so "restaurants in Bangkok" reaches "I am allergic to peanuts"
# even when MiniLM puts the allergy only under "diet".
BEARS_ON: dict[str, tuple[str, ...]] = {
    "diet, nutrition and allergies": _EATING,
    "religion, values and beliefs": _EATING[:3],
    "health, medical conditions and medication": (*_DOING, _EATING[0]),
    "accessibility, disabilities and physical limitations": (
        *_DOING,
        "hotels, lodging and places to stay",
        "flights, trains, cars and getting around",
    ),
    "fears, phobias and what makes the user uncomfortable": (
        *_DOING,
        "live shows, theater, comedy and concerts",
        "hotels, lodging and places to stay",
    ),
    "animal welfare, cruelty-free and animal-derived products": (*_BUYING, *_EATING[:2], _DOING[0]),
    "environment, sustainability and ethics": (*_BUYING, _DOING[3]),
    "money, budgeting, finance and prices": (
        *_BUYING[:2],
        "hotels, lodging and places to stay",
        "learning, courses, studying and education",
    ),
    "weather, climate and seasons": (_BUYING[1], *_DOING[1:]),
}

# Which development-data topic (shared/eval, PrefEval) an entry names the domain of. The table
# was written while reading that data, so an entry that names a topic's own domain would flatter
# a measurement on that topic: `selfmodel eval`'s leave-one-topic-out report measures each topic
# with the entries tagged with it removed (`SituationTable.without`), i.e. as a domain the table
# was never written for. Untagged entries name areas outside the development topics.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "eating out at restaurants, cafes and bars": ("travel_restaurant",),
    "street food, snacks and local dishes when travelling": ("travel_restaurant",),
    "planning a trip, vacation or holiday": ("travel_activities",),
    "sightseeing, tours and things to do in a city": ("travel_activities",),
    "outdoor activities, hiking, beaches and nature": ("travel_activities",),
    "movies, films and cinema": ("entertain_shows",),
    "tv shows, series and streaming": ("entertain_shows",),
    "live shows, theater, comedy and concerts": ("entertain_shows",),
    "video games, board games and gaming": ("entertain_games",),
    "exercise, workouts, gym and fitness routines": ("lifestyle_fit",),
    "skincare, makeup, hair and beauty products": ("lifestyle_beauty",),
    "animal welfare, cruelty-free and animal-derived products": ("lifestyle_beauty",),
    "clothes, fashion, shoes and accessories": ("shop_fashion",),
    "cars, vehicles, motorcycles and driving": ("shop_motors",),
    "pets, dogs, cats and animal care": ("pet_ownership",),
    "learning, courses, studying and education": ("education_resources",),
}


@dataclass(frozen=True)
class SituationTable:
    """The situations a belief can be indexed under and the areas each bears on."""

    situations: tuple[str, ...]
    bears_on: Mapping[str, tuple[str, ...]]

    def without(self, topic: str) -> SituationTable:
        """The table less every entry written from `topic` (and the links to and from it)."""
        dropped = {s for s, topics in DERIVED_FROM.items() if topic in topics}
        kept = tuple(s for s in self.situations if s not in dropped)
        links = {
            area: tuple(t for t in targets if t not in dropped)
            for area, targets in self.bears_on.items()
            if area not in dropped
        }
        return SituationTable(kept, {a: t for a, t in links.items() if t})


DEFAULT_TABLE = SituationTable(SITUATIONS, BEARS_ON)

# Three, not one: a belief often spans areas (an allergy matters for restaurants, cooking and
# travel) and the nearest area by MiniLM is right only about half the time at this grain.
SITUATIONS_PER_BELIEF = 3

_WS = re.compile(r"\s+")


def situation_texts(table: SituationTable = DEFAULT_TABLE) -> list[str]:
    """The situation list, for the caller to embed once with the index's embedder."""
    return list(table.situations)


def index_views(
    statement: str,
    context: str,
    *,
    statement_vector: np.ndarray | None = None,
    situation_matrix: np.ndarray | None = None,
    per_belief: int = SITUATIONS_PER_BELIEF,
    linked: bool = True,
    table: SituationTable = DEFAULT_TABLE,
) -> list[str]:
    """Texts to index a belief under: the statement, then the situations it matters in.

    `statement_vector` is the statement's embedding and `situation_matrix` the embeddings of
    `situation_texts(table)` (same embedder, L2-normalized rows). Without them only the statement is
    returned, so a caller without an embedder still gets a valid (plain cosine) index.
    `context` (the observation's context, e.g. "preferences") is kept out of the views: every
    belief of a context would share it, so it would lift them all alike.
    With `linked`, a chosen situation listed in `BEARS_ON` brings the areas it bears on along
    (after the nearest ones, without repeats).
    """
    del context  # part of the contract; see the docstring for why it is not a view
    text = _WS.sub(" ", statement).strip()
    views = [text]
    if statement_vector is None or situation_matrix is None or per_belief <= 0 or not text:
        return views
    sims = np.asarray(situation_matrix, dtype=np.float32) @ np.asarray(
        statement_vector, dtype=np.float32
    )
    # Stable order (best first) so the same belief always gets the same views.
    best = np.argsort(-sims, kind="stable")[:per_belief]
    chosen = [table.situations[int(i)] for i in best]
    if linked:
        for area in list(chosen):
            chosen.extend(a for a in table.bears_on.get(area, ()) if a not in chosen)
    views.extend(chosen)
    return views
