"""In-process lab for the revision scenarios of benchmarks/evolve.py: no server, same parts.

The same SelfModel the proxy builds (local extraction, the gate, the applier, the injector's
plan), driven directly, so that one batch runs in seconds while a method is being worked on.
benchmarks/evolve.py over HTTP stays the figure of record; this one prints, per revision,
what happened to the old belief and what the query injected.

    python benchmarks/evolve_lab.py benchmarks/data/evolve_check6.jsonl [--only ID] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.evolve import EVAL_DIR, SEED, _background, background_document  # noqa: E402
from memory.index.embed import LocalEmbedder  # noqa: E402
from memory.learn.turns import Turn  # noqa: E402
from memory.offline import configure_offline  # noqa: E402
from memory.selfmodel import SelfModel  # noqa: E402
from proxy.config import parse_config  # noqa: E402

T = "default"


class Lab:
    def __init__(self, root: Path, embedder: LocalEmbedder) -> None:
        config = parse_config(
            {"store": {"path": str(root)}, "extraction": {"enabled": True, "mode": "local"}}
        )
        self.rt = SelfModel(config.memory, embedder=embedder)

    async def say(self, user: str, text: str) -> None:
        turn = Turn(
            request_id=f"req_{uuid.uuid4().hex[:12]}",
            tenant=T,
            user=user,
            model="m",
            messages=[{"role": "user", "content": text}],
            reply="Sure.",
        )
        await self.rt.enqueue_turn(turn)
        await self.rt.worker.drain()
        self.rt.snapshots.refresh(T, user)

    def active(self, user: str) -> dict[str, str]:
        return {b.id: b.statement for b in self.rt.beliefs.find(T, user, status="active")}

    def versions(self, user: str) -> dict[str, int]:
        return {b.id: b.version for b in self.rt.beliefs.find(T, user, status="active")}

    def describe(self, user: str, belief_id: str) -> str:
        b = self.rt.beliefs.get(T, user, belief_id)
        return f"{b.statement!r} [{b.context}, {b.confidence:.2f}, {b.status}]"

    async def injected(self, user: str, query: str) -> list[Any]:
        plan = await self.rt.plan(
            tenant=T,
            user=user,
            model="m",
            messages=[{"role": "user", "content": query}],
            headers={},
        )
        return list(plan.beliefs)

    async def background(self, user: str, statements: list[str]) -> None:
        await self.rt.import_user(T, user, background_document(statements))


async def run(path: Path, only: str, verbose: bool) -> dict[str, int]:
    scenarios = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    scenarios = [s for s in scenarios if s["id"].startswith(only)]
    steady = [s for s in scenarios if s["kind"] in ("restatement", "distinct")]
    scenarios = [s for s in scenarios if s["kind"] == "revision"]
    cases = [json.loads(line) for line in (EVAL_DIR / "prefeval_explicit_dev.jsonl").open()]
    pool = [c["gold_preference"] for c in cases]
    rng = random.Random(SEED)
    score: dict[str, int] = {
        "learned": 0,
        "stale": 0,
        "new_cases": 0,
        "fresh": 0,
        "wrong": 0,
        "moved": 0,
    }
    with tempfile.TemporaryDirectory(prefix="evolve-lab-") as tmp:
        lab = Lab(Path(tmp), LocalEmbedder())
        try:
            for n, s in enumerate(scenarios):
                user = f"u{n}"
                await lab.background(user, _background(pool, rng))
                before = set(lab.active(user))
                for text in s["setup"]:
                    await lab.say(user, text)
                old = set(lab.active(user)) - before
                if not old:
                    print(f"{s['id']}: SETUP NOT LEARNED {s['setup']}")
                    continue
                for text in s.get("keep", []):
                    await lab.say(user, text)
                keep = set(lab.active(user)) - before - old
                standing = set(lab.active(user)) - old
                await lab.say(user, s["turn"])
                after = lab.active(user)
                new = set(after) - before - old - keep
                score["learned"] += 1
                wrong = standing - set(after)
                score["wrong"] += len(wrong)
                score["moved"] += not (old & set(after))
                injected = await lab.injected(user, s["query"])
                ids = {b.id for b in injected}
                stale, fresh = bool(ids & old), bool(ids & new)
                score["stale"] += stale
                if s.get("new_marker"):
                    score["new_cases"] += 1
                    score["fresh"] += fresh
                bad = stale or (s.get("new_marker") and not fresh) or wrong
                if bad or verbose:
                    flag = "STALE " if stale else ""
                    flag += "NOTNEW " if s.get("new_marker") and not fresh else ""
                    flag += "WRONG " if wrong else ""
                    print(f"{s['id']}: {flag or 'ok'}  {s['setup'][0]!r} -> {s['turn']!r}")
                    print(f"    new: {[lab.describe(user, i) for i in new]}")
                    print(f"    old: {[lab.describe(user, i) for i in old]}")
                    for i in wrong:
                        print(f"    wrongly ended: {lab.rt.beliefs.get(T, user, i).statement!r}")
                    if verbose or bad:
                        shown = [b.statement for b in injected][:8]
                        print(f"    injected ({len(injected)}): {shown}")
            score["steady"], score["steady_ended"] = await _steady(lab, steady, pool, rng)
        finally:
            lab.rt.db.close()
    learned, asked = score["learned"], score["new_cases"]
    print(
        f"{path.name}: learned {learned}/{len(scenarios)}, stale {score['stale']}/{learned} "
        f"({100 * score['stale'] / (learned or 1):.1f}%), current {score['fresh']}/{asked} "
        f"({100 * score['fresh'] / (asked or 1):.1f}%), old ended {score['moved']}, "
        f"wrongly ended {score['wrong']}; restatements/distinct {score['steady']}, "
        f"beliefs ended {score['steady_ended']}"
    )
    return score


async def _steady(
    lab: Lab, scenarios: list[dict[str, Any]], pool: list[str], rng: random.Random
) -> tuple[int, int]:
    """Restatements and distinct statements: nothing changed, so nothing may end; a
    restatement touches one belief (as benchmarks/evolve.py counts it), a distinct statement
    leaves the first one as it was."""
    ended = 0
    for n, s in enumerate(scenarios):
        user = f"s{n}"
        await lab.background(user, _background(pool, rng))
        versions = lab.versions(user)
        for text in s["setup"]:
            await lab.say(user, text)
        first = {i: v for i, v in lab.versions(user).items() if versions.get(i, 0) < v}
        standing = set(lab.active(user))
        await lab.say(user, s["turn"])
        gone = standing - set(lab.active(user))
        ended += bool(gone)
        if gone:
            print(f"{s['id']}: ENDED  {s['setup'][0]!r} -> {s['turn']!r}")
            for i in gone:
                print(f"    wrongly ended: {lab.rt.beliefs.get(T, user, i).statement!r}")
        now = lab.versions(user)
        touched = [i for i, v in now.items() if versions.get(i, 0) < v]
        if s["kind"] == "restatement" and len(touched) != 1:
            shown = [lab.describe(user, i) for i in touched]
            print(f"{s['id']}: {len(touched)} BELIEFS  {s['turn']!r}: {shown}")
        if s["kind"] == "distinct" and any(now.get(i, 0) > v for i, v in first.items()):
            print(f"{s['id']}: MERGED  {s['turn']!r} into {s['setup'][0]!r}")
    return len(scenarios), ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--only", default="")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    configure_offline()
    if args.verbose:
        logging.basicConfig(level=logging.WARNING, format="    log: %(message)s")
        logging.getLogger("memory.learn.worker").setLevel(logging.INFO)
    for f in args.files:
        asyncio.run(run(Path(f), args.only, args.verbose))


if __name__ == "__main__":
    main()
