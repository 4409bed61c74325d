"""Applying extracted operations to a user's self-model, op by op.

Guards run here whatever the extractor: unknown ids, instructions posing as
facts, third parties, and secrets are rejected per op; an `add` that nearly
repeats an existing belief becomes a reinforcement of it, one that negates an active belief
becomes a revision (or a retraction), and a change of mind named in words ("forget what I said
about X") is linked to the belief it is about (memory/learn/revise.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from memory import secrets
from memory.beliefs import Beliefs, EvidenceIn
from memory.errors import MemoryFault
from memory.guard import looks_like_instruction
from memory.learn import revise
from memory.learn.change import (
    CONSEQUENCE,
    abstention_of,
    change_signal,
    changed_belief,
    contrasts_past,
    one_night_against_habit,
    returned_belief,
)
from memory.learn.cues import states_residence
from memory.learn.local import is_about_third_party, named_subject, person_of
from memory.learn.named import NAMED, ending_mark, named_belief, said_again
from memory.learn.ops import Op, Rejected
from memory.learn.polarity import cessation_clause, content_stems, is_cessation, polarity
from memory.learn.shapes import FIRST_PERSON, NAMES_PERSON
from memory.learn.times import resolve_time
from memory.learn.voice import in_user_voice


@dataclass
class Applied:
    applied: list[tuple[str, str]] = field(default_factory=list)  # (op, belief id)
    rejected: list[Rejected] = field(default_factory=list)


def _check_text(op: Op) -> str | None:
    text = op.statement or ""
    if op.statement is not None:
        if looks_like_instruction(text):
            return "statement is an instruction to the assistant, not a fact about the user"
        # A change told of the user's people ("My mom moved into assisted living") only
        # revises a belief about them that stands out, and is never stored on its own.
        anchored = op.op == "revise" and op.anchored
        if is_about_third_party(text) and not anchored:
            return "statement is about someone other than the user"
        if secrets.contains_secret(text):
            return "statement contains a secret"
    return None


_EXPLICIT = ("stated", "asserted", "corrected")


class Applier:
    """Applies ops under the user's lock, so concurrent turns see each other's writes."""

    def __init__(self, beliefs: Beliefs) -> None:
        self.beliefs = beliefs
        # The user's active beliefs and their vectors, read once for the ops between two
        # writes: an op compares several texts with them (~100 rows and vectors from SQLite
        # each time was most of a learned turn's CPU). Kept per thread, filled and dropped
        # under the user's lock, which every write to the user's beliefs takes.
        self._reads = threading.local()

    def _forget_reads(self) -> None:
        self._reads.rows = self._reads.vectors = None

    def _active_rows(self, tenant: str, user: str) -> list[dict[str, Any]]:
        if getattr(self._reads, "rows", None) is None:
            self._reads.rows = self.beliefs.active_rows(tenant, user)
        rows: list[dict[str, Any]] = self._reads.rows
        return rows

    def _statement_vectors(self, tenant: str, user: str) -> tuple[list[str], np.ndarray]:
        if getattr(self._reads, "vectors", None) is None:
            self._reads.vectors = self.beliefs.statement_vectors(tenant, user)
        found: tuple[list[str], np.ndarray] = self._reads.vectors
        return found

    def _candidates(
        self, tenant: str, user: str, text: str, limit: int | None = 10
    ) -> list[revise.Match]:
        """The active beliefs closest to a text, in every context."""
        if not text.strip():
            return []
        found, matrix = self._statement_vectors(tenant, user)
        if not found:
            return []
        sims = matrix @ self.beliefs.embed_text(text)
        statements = {r["id"]: r["statement"] for r in self._active_rows(tenant, user)}
        ranked = revise.ranked(sims, found, statements, limit)
        return [m for m in ranked if m.statement]

    def _exact(self, tenant: str, user: str, statement: str) -> str | None:
        key = _key(statement)
        for row in self._active_rows(tenant, user):
            if _key(row["statement"]) == key:
                return str(row["id"])
        return None

    def apply(
        self,
        tenant: str,
        user: str,
        ops: Sequence[Op],
        *,
        request_id: str | None,
        known_ids: set[str],
        actor: str = "extraction",
        at: datetime | None = None,
    ) -> Applied:
        result = Applied()
        # One user's ops apply one turn at a time (the lock is re-entrant for the writes
        # below), so 50 identical concurrent turns find each other and make one belief.
        with self.beliefs.lock(tenant, user):
            self._forget_reads()
            for index, op in enumerate(ops):
                problem = _check_text(op)
                if problem is None and op.id is not None and op.id not in known_ids:
                    problem = f"unknown belief id {op.id!r}"
                if problem:
                    result.rejected.append(Rejected(index, problem, op))
                    continue
                try:
                    kind, outcome = self._apply_one(tenant, user, op, request_id, actor, at)
                except MemoryFault as exc:
                    self._forget_reads()
                    result.rejected.append(Rejected(index, str(exc), op))
                    continue
                if kind != "rejected":
                    self._forget_reads()
                if kind == "rejected":
                    result.rejected.append(Rejected(index, outcome, op))
                else:
                    result.applied.append((kind, outcome))
        return result

    def _evidence(
        self, op: Op, request_id: str | None, polarity: int = 1, note: str | None = None
    ) -> EvidenceIn:
        return EvidenceIn(
            source=op.source,
            kind="turn",
            polarity=polarity,
            quote=op.quote,
            request_id=request_id,
            note=note,
        )

    def _apply_one(
        self,
        tenant: str,
        user: str,
        op: Op,
        request_id: str | None,
        actor: str,
        at: datetime | None,
    ) -> tuple[str, str]:
        if op.id is None and op.op == "retract" and op.cue == "lapsed":
            return self._lapsed(tenant, user, op, request_id, actor, at)
        if op.id is None and op.op == "retract":
            target = op.target or op.quote
            found = self._candidates(tenant, user, target)
            match = revise.target_of(target, found, _old_sign(op, target))
            if match is None and op.quote and op.quote != target:
                whole = self._candidates(tenant, user, op.quote)
                match = revise.partly_named(target, whole, _old_sign(op, target))
                said = in_user_voice(op.quote)
                if match is None and op.cue == "parted" and change_signal(said) is not None:
                    # "Cancelled the paper delivery": the thing's few words are far from
                    # "I get the Guardian delivered", but the change, read whole as a
                    # revision, stands on it; with no new state told, it ends that belief.
                    whole_op = Op(op="revise", context=op.context, quote=op.quote, statement=said)
                    linked = self._link_revision(tenant, user, whole_op)
                    match = linked[1] if linked is not None and linked[0] != "same" else None
            if match is None and op.quote:
                # The cue named the wrong words as the old state ("I'm honestly not religious
                # any more, haven't kept Shabbat in a year"): the belief the whole sentence is
                # about, when it alone is close.
                said = in_user_voice(op.quote)
                match = _standing_out(said, said, self._candidates(tenant, user, op.quote))
            if match is None and op.quote:
                match = self._named(tenant, user, in_user_voice(op.quote))
            if match is None and op.statement:
                # Nothing said before to drop: the cessation itself is about the user.
                return self._add_told(tenant, user, op, request_id, actor, at)
            if match is None:
                return "rejected", f"no active belief matches {target!r} to retract"
            note = (
                f"{op.cue or 'retraction'}: retracts {match.statement!r} ({match.similarity:.2f})"
            )
            return "retract", self._retract(tenant, user, match.id, op, request_id, actor, note)
        if op.id is None and op.op == "revise":
            linked = self._link_revision(tenant, user, op)
            if linked is not None and (
                _reports_on_report(op, linked[1])
                or _befell_another(op, linked[1])
                or one_night_against_habit(op.quote or "", linked[1].statement)
            ):
                linked = None
            if linked is not None and op.cue == "lapsed" and not _names_habit(op, linked[1]):
                # "Haven't been to a barber in years, I just buzz it myself" restates "I cut
                # my own hair": only a habit that names what lapsed is what it ended.
                linked = None
            if linked is not None:
                return self._revise_linked(tenant, user, op, linked, request_id, actor, at)
            if op.anchored:
                return "rejected", f"no active belief stands out as what {op.quote!r} changed"
            op = Op(
                op="add",
                context=op.context,
                quote=op.quote,
                source=op.source,
                statement=op.statement,
            )
        if op.op == "add":
            return self._add(tenant, user, op, request_id, actor, at)
        assert op.id is not None
        if op.op in ("reinforce", "weaken"):
            polarity = 1 if op.op == "reinforce" else -1
            return op.op, self.beliefs.add_evidence(
                tenant,
                user,
                op.id,
                self._evidence(op, request_id, polarity),
                event="reinforced" if op.op == "reinforce" else "weakened",
                actor=actor,
            ).id
        if op.op == "revise":
            return "revise", self.beliefs.revise(
                tenant,
                user,
                op.id,
                op.statement or "",
                self._evidence(op, request_id, note=op.cue),
                actor=actor,
                context=op.context,
                valid_from=_since(op, at),
            ).id
        return "retract", self._retract(tenant, user, op.id, op, request_id, actor, op.cue)

    def _lapsed(
        self,
        tenant: str,
        user: str,
        op: Op,
        request_id: str | None,
        actor: str,
        at: datetime | None,
    ) -> tuple[str, str]:
        """ "I haven't played squash since Easter" ends a habit that names what lapsed, in
        the positive; a lapse of what the user holds off ("I haven't had a drink since 2019"
        after "I don't drink", "... a cigarette in years" after "I quit smoking") says the
        abstention again, so it ends nothing."""
        target = op.target or op.quote or ""
        found = self._candidates(tenant, user, target)
        match = revise.target_of(target, found, sign=1)
        if match is None or not _names_habit(op, match):
            if op.statement:
                return self._add_told(tenant, user, op, request_id, actor, at)
            return "rejected", f"no active belief names the habit {target!r} that lapsed"
        note = f"lapsed: retracts {match.statement!r} ({match.similarity:.2f})"
        return "retract", self._retract(tenant, user, match.id, op, request_id, actor, note)

    def _add_told(
        self,
        tenant: str,
        user: str,
        op: Op,
        request_id: str | None,
        actor: str,
        at: datetime | None,
    ) -> tuple[str, str]:
        """A retraction that ended nothing said before, stored as what it tells of the user."""
        as_add = Op(op="add", context=op.context, quote=op.quote, statement=op.statement)
        return self._add(tenant, user, as_add, request_id, actor, at)

    def _link_revision(self, tenant: str, user: str, op: Op) -> tuple[str, revise.Match] | None:
        """The belief a revision is about, by meaning, else by a name it says: "btw gave up on
        evernote after the price hike" names the old state in words ("btw on evernote ...")
        far from "I use Evernote for all my notes", but says its name."""
        # The user's words, read with the user as their subject ("Sold my bike" -> "I sold my
        # bike"), as the extractor read them.
        said = in_user_voice(op.quote) if op.quote else (op.statement or "")
        if not (op.cue or "").startswith(NAMED):
            linked = self._link_by_meaning(tenant, user, op, said)
            if linked is not None:
                return linked
        match = self._named(tenant, user, said)
        return ("revises", match) if match else None

    def _link_by_meaning(
        self, tenant: str, user: str, op: Op, said: str
    ) -> tuple[str, revise.Match] | None:
        statement = op.statement or ""
        found = self._candidates(tenant, user, statement)
        verdict = revise.same_or_contradicting(statement, found)
        first = _first_clause(statement)
        if verdict is None and first:
            # "I was never allergic to X; the tests came back clear": the clause that
            # negates the belief, without the reason given for it.
            clause = revise.same_or_contradicting(first, self._candidates(tenant, user, first))
            verdict = clause if clause is not None and clause[0] == "contradicts" else None
        same = verdict if verdict is not None and verdict[0] == "same" else None
        if same is not None and op.target is None:
            if _new_number(said, statement, same[1]) or (
                contrasts_past(said)
                and (
                    revise.changed_value(statement, same[1].statement)
                    or revise.says_more(statement, same[1].statement)
                )
            ):
                # The same topic set against its past with new words: a new state of it
                # ("Google Photos got too pricey, so I back up to a hard drive now"), kept
                # as history rather than reworded in place.
                return "revises", same[1]  # a change cue on the same frame, a new value
            return same
        if op.cue == "moved" or states_residence(statement):
            # A move replaces where the user lived, however that was worded.
            homes = [
                m
                for m in self._candidates(tenant, user, statement, limit=None)
                if states_residence(m.statement)
            ]
            match = revise.residence_of(statement, homes)
            if match is None and (signal := change_signal(said)) is not None:
                # No home said before: what the move changed, if it clearly changed one
                # ("We bought the house, so the deposit savings are done").
                match = changed_belief(statement, found, signal)
            return ("revises", match) if match else None
        if op.target:
            named = self._candidates(tenant, user, op.target)
            match = revise.target_of(op.target, named, _old_sign(op, op.target))
            if match is None and same is None:
                whole = self._candidates(tenant, user, said)
                match = revise.partly_named(op.target, whole, _old_sign(op, op.target))
            # The old state it names is what changes, even when the sentence, which names
            # it too, reads as a restatement of it.
            if match is None and same is not None and _new_number(said, statement, same[1]):
                return "revises", same[1]
            if match is not None or same is not None:
                return ("revises", match) if match else same
            # The words read as the old state name none ("My Fitbit died and I replaced it
            # with an Oura ring": "it"): the change is still said, so the belief the whole
            # sentence is about is found as for a change with no target.
        if verdict is not None:
            return verdict
        sign = _old_sign(op, op.target) if op.target else None
        if sign is not None and sign != polarity(statement):
            # "I buy second-hand these days, fast fashion bothers me": the old state was a
            # liking, and nothing the user liked was found; the beliefs near the new words
            # share their polarity, the new state's, not the old one's. Unless one belief
            # alone is close to it: the target then named the wrong clause.
            match = _standing_out(said, statement, found)
            return ("revises", match) if match else None
        signal = change_signal(said)
        told = signal is not None and signal.thing is not None
        if signal is not None and (told or (op.cue or "").startswith(CONSEQUENCE)):
            # Someone else's act and its consequence for the user, or a thing rearranged with
            # no first person ("the stand-up got pushed to 11"): the belief the whole sentence
            # is about, and for a thing, one that names it.
            match = changed_belief(said, self._candidates(tenant, user, said), signal)
            if match is not None or not signal.named:
                return ("revises", match) if match else None
            # A name no belief holds ("MIL moved back to Ireland, so ... now"): the change is
            # still told, and found as one with no thing named.
        contrasted = contrasts_past(said)
        if signal is not None and signal.begins(said) and not contrasted:
            # "Signed up for my first half marathon in April!": nothing said ended, however
            # close it is to a habit ("I run 5k three times a week"), unless a thing it
            # names ended too ("Opened accounts at Capitec and closed the Standard Bank ones").
            return None
        match = revise.topic_of(statement, found, contrasted)
        obj = revise.object_phrase(statement)
        if match is None and obj and obj.lower() != statement.lower().rstrip("."):
            # The old state unnamed: the belief about the same kind of thing, by the object.
            by_object = self._candidates(tenant, user, obj)
            whole = self._candidates(tenant, user, statement, limit=None)
            match = revise.slot_of(statement, by_object, whole)
        if match is None and signal is not None:
            # A change in no known frame: the one belief the sentence is clearly about.
            match = changed_belief(statement, found, signal)
        if match is None and (absent := abstention_of(statement)) is not None:
            # A return or an inception ended the state's absence, said as an abstention.
            match = returned_belief(self._candidates(tenant, user, absent))
        if match is None:
            match = _standing_out(said, statement, found)
        return ("revises", match) if match else None

    def _said_again(self, tenant: str, user: str, op: Op) -> revise.Match | None:
        """The belief a statement says again by the name it holds (memory/learn/named.py), of
        the user's own when the statement is."""
        said = in_user_voice(op.quote) if op.quote else (op.statement or "")
        match = said_again(said, self._candidates(tenant, user, said, limit=None))
        if match is None or is_about_third_party(said) != is_about_third_party(match.statement):
            return None
        return match

    def _named(self, tenant: str, user: str, said: str) -> revise.Match | None:
        """The belief whose name a change says with a word that ends a state, if one alone
        holds it (memory/learn/named.py); never one of the user's own for a change that
        befell someone else."""
        if ending_mark(said) is None:
            return None
        match = named_belief(said, self._candidates(tenant, user, said, limit=None))
        if match is None:
            return None
        return None if is_about_third_party(said) > is_about_third_party(match.statement) else match

    def _revise_linked(
        self,
        tenant: str,
        user: str,
        op: Op,
        linked: tuple[str, revise.Match],
        request_id: str | None,
        actor: str,
        at: datetime | None,
    ) -> tuple[str, str]:
        how, match = linked
        if how == "same":
            statement = op.statement or ""
            more = statement != match.statement and revise.says_more(statement, match.statement)
            note = f"restated ({match.similarity:.2f})"
            if more:
                note += f"; reworded from {match.statement!r}: the newer wording, no terser"
            return "reinforce", self.beliefs.add_evidence(
                tenant,
                user,
                match.id,
                self._evidence(op, request_id, note=note),
                event="reworded" if more else "reinforced",
                actor=actor,
                statement=statement if more else None,
            ).id
        note = (
            f"{op.cue or 'contradiction'}: supersedes {match.statement!r} "
            f"({how}, similarity {match.similarity:.2f})"
        )
        # The new value of a slot lives where the old one did (context=None keeps the old
        # belief's): "I passed the bar" replacing "I'm a law student" is the same fact about
        # the user, and found by the same requests, whatever context its own words suggest.
        return "revise", self.beliefs.revise(
            tenant,
            user,
            match.id,
            named_subject(op.statement or "", match.statement),
            self._evidence(op, request_id, note=note),
            actor=actor,
            context=None,
            valid_from=_since(op, at),
        ).id

    def _add(
        self,
        tenant: str,
        user: str,
        op: Op,
        request_id: str | None,
        actor: str,
        at: datetime | None,
    ) -> tuple[str, str]:
        statement = op.statement or ""
        exact = self._exact(tenant, user, statement)
        found = self._candidates(tenant, user, statement)
        verdict = revise.same_or_contradicting(statement, found)
        if exact is not None:
            verdict = ("same", revise.Match(exact, statement, 1.0, True))
        if verdict is not None and verdict[0] == "contradicts":
            match = verdict[1]
            old = self._active_rows(tenant, user)
            old_source = next((r["source"] for r in old if r["id"] == match.id), "stated")
            if op.source == "inferred" and old_source in _EXPLICIT:
                return "rejected", (
                    f"contradicts the {old_source} belief {match.statement!r}; "
                    "an inference does not override what the user said"
                )
            if op.source == "inferred":
                verdict = None  # two inferences: an open conflict, resolved at injection
            elif is_cessation(statement):
                note = f"negation: retracts {match.statement!r} ({match.similarity:.2f})"
                return "retract", self._retract(tenant, user, match.id, op, request_id, actor, note)
        if verdict is None and (again := self._said_again(tenant, user, op)) is not None:
            verdict = ("same", again)
        if verdict is not None:
            return self._revise_linked(tenant, user, op, verdict, request_id, actor, at)
        return "add", self.beliefs.create(
            tenant,
            user,
            statement,
            op.context,
            self._evidence(op, request_id),
            actor=actor,
            valid_from=_since(op, at),
        ).id

    def _retract(
        self,
        tenant: str,
        user: str,
        belief_id: str,
        op: Op,
        request_id: str | None,
        actor: str,
        note: str | None,
    ) -> str:
        self.beliefs.add_evidence(
            tenant,
            user,
            belief_id,
            self._evidence(op, request_id, polarity=-1, note=note),
            event="weakened",
            actor=actor,
        )
        return self.beliefs.set_status(
            tenant, user, belief_id, "retracted", actor=actor, request_id=request_id
        ).id


# Cues whose target is the old state as it was held ("I don't like X anymore" -> "I like X"),
# so its polarity is the old belief's; other targets are a bare topic ("switched from X").
_HELD_STATE_CUES = (
    "no longer",
    "not anymore",
    "used to",
    "dropped",
    "dropped for",
    "out, in",
    "off",
    "ended",
)


def _old_sign(op: Op, target: str) -> int | None:
    if op.cue in ("no longer", "not anymore") and op.quote:
        # A cessation negates the state it ends: "I can't bear X anymore" ends a state of
        # the opposite polarity, whatever negation its target kept ("I can't bear X").
        return -polarity(cessation_clause(re.split(r"(?<=[.!?])\s+", op.quote.strip())[0]))
    if op.cue == "faded":
        return 1  # "X bores me now" ends a liking of X, never a dislike of it
    return polarity(target) if op.cue in _HELD_STATE_CUES else None


def _new_number(said: str, statement: str, same: revise.Match) -> bool:
    """A restatement set against the past with another number: the slot's new value."""
    return contrasts_past(said) and revise.changed_number(statement, same.statement)


def _reports_on_report(op: Op, match: revise.Match) -> bool:
    """What happened to one of the user's people revises what the user said of their own life
    ("My mother lives with us"), never another such report ("My dad moved ...")."""
    told = op.anchored and is_about_third_party(op.statement or "")
    return told and is_about_third_party(match.statement)


def _befell_another(op: Op, match: revise.Match) -> bool:
    """An event of one of the user's people that touches nothing else of the user's ("My
    brother just bought a flat in Cardiff") changes only what the user said of their people
    ("My mother lives with us"), never the user's own state alone ("We live in Bristol"). One
    done to what is the user's ("My partner's been doing my hair since lockdown") or with a
    consequence for it ("My teacher started a new job, so the piano lesson got moved") may."""
    told = op.quote or op.statement or ""
    person = person_of(told) if op.anchored else None
    if person is None or re.search(r"\bso\b", told, re.I):
        return False
    after = told.lower().find(person) + len(person)
    touches_user = FIRST_PERSON.search(told, after) is not None
    return not touches_user and NAMES_PERSON.search(match.statement) is None


def _names_habit(op: Op, match: revise.Match) -> bool:
    """A lapse's old state: a belief holding a word of the habit that lapsed, and no
    abstention ("I quit smoking" is what "I haven't had a cigarette in years" says again)."""
    words = content_stems(op.target or "")
    return bool(words & content_stems(match.statement)) and not is_cessation(match.statement)


def _standing_out(said: str, statement: str, found: list[revise.Match]) -> revise.Match | None:
    """The belief alone close to a change, unless the change befell someone else and the
    belief is the user's own ("My sister cancelled her Costco card" ends no membership of the
    user's)."""
    match = revise.standing_out(statement, found)
    if match is None or (is_about_third_party(said) and not is_about_third_party(match.statement)):
        return None
    return match


def _first_clause(statement: str) -> str | None:
    """The first of several clauses ("A; B", "A, so B"), if the statement has several."""
    parts = re.split(r"\s*[;:]\s*|,\s+(?:and|but|so|because)\s+|\s+-\s+", statement.strip())
    return parts[0] if len(parts) > 1 and len(parts[0].split()) >= 3 else None


def _key(statement: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", statement.lower()))


def _since(op: Op, at: datetime | None) -> datetime | None:
    """valid_from from a relative time in the user's words ("last month"), if any."""
    if at is None:
        return None
    return resolve_time(op.quote or op.statement or "", at)
