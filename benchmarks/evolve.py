"""Does the self-model evolve? Revisions, restatements, non-statements, observations, times.

Everything goes through the real proxy over HTTP: `selfmodel serve` in a child process on a
loopback port, local extraction (no model, no key), a temporary store, and the fake
OpenAI-compatible upstream of `tests/fake_upstream.py` answering the chat calls. Each user
first gets ~99 background beliefs (PrefEval gold preferences of other cases, imported through
`/v1/users/{user}/import`), so that every lookup competes with a realistic self-model.

Printed, for a scenario file (`benchmarks/data/evolve_dev.jsonl` by default; run it on
`evolve_check.jsonl` too, which is never tuned on):
- revisions: after the revising turn, the share of cases whose old state is still injected
  (preview of the scenario's query) and whose new state is injected; superseded/retracted.
  Also the beliefs wrongly superseded or retracted (the ~99 background beliefs, and a near
  belief a `keep` scenario states beside the old one): they did not change.
- restatements: the share that leave one belief (the restatement reinforced it); distinct
  statements on a near topic: the share wrongly merged (want 0).
- non-statements: the share stored (want 0) and the lasting style requests stored (want all).
- observations: the share that landed as evidence on the belief they support or weaken.
- relative times: the share whose belief's valid_from is the stated time before the turn.
- whole loop: a PrefEval preference said inside a chat (unrelated turns before and after),
  learned locally, then the case's query previewed: recall (an injected belief holds the
  preference's own words: a new belief, or a background belief it restated with more and so
  reworded) and median injected tokens; also
  the recall counting a background belief the preference reinforced (a restatement of it,
  PrefEval holds near-duplicate preferences) and why each miss missed.
- 300 unrelated turns (distractors, one fresh user each): beliefs learned.
- 50 identical concurrent turns: active beliefs and the evidence on them.

Run from the repo root:
    python benchmarks/evolve.py                                  # dev file, 100 loop cases
    python benchmarks/evolve.py --file benchmarks/data/evolve_check.jsonl
    python benchmarks/evolve.py --loop-cases 528                 # the whole PrefEval file
    python benchmarks/evolve.py --file ...check.jsonl --only chk2 --skip loop,unrelated,burst
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._common import HOST, Children, free_port, load_note, wait_ready  # noqa: E402
from tests.fake_upstream import FakeUpstream, ServerThread, build_app  # noqa: E402

EVAL_DIRS = [REPO / "eval", REPO.parent / "shared" / "eval", REPO.parents[1] / "shared" / "eval"]
EVAL_DIR = next((d for d in EVAL_DIRS if (d / "distractor_messages.json").is_file()), EVAL_DIRS[1])
MODEL = "gpt-bench"
SEED = 7


def _argv(config: Path, port: int) -> list[str]:
    exe = Path(sys.executable).with_name("selfmodel")
    if exe.is_file():
        return [str(exe), "serve", "--config", str(config), "--port", str(port)]
    code = "from proxy.cli import main; main()"
    return [sys.executable, "-c", code, "serve", "--config", str(config), "--port", str(port)]


class Proxy:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)
        self.users = 0

    def new_user(self, label: str) -> str:
        self.users += 1
        return f"{label}-{self.users}"

    def chat(self, user: str, text: str, history: list[dict[str, str]] | None = None) -> str:
        messages = [*(history or []), {"role": "user", "content": text}]
        body = {"model": MODEL, "user": user, "messages": messages}
        response = self.http.post("/v1/chat/completions", json=body)
        response.raise_for_status()
        return str(response.headers.get("x-selfmodel-request-id"))

    def drain(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.http.get("/v1/extraction/jobs", params={"limit": 1}).json()["counts"]
            if not counts.get("pending") and not counts.get("running"):
                return
            time.sleep(0.03)
        raise RuntimeError("extraction did not drain")

    def beliefs(self, user: str, status: str | None = "active") -> dict[str, dict[str, Any]]:
        params = {"status": status} if status else {}
        response = self.http.get(f"/v1/users/{user}/beliefs", params=params)
        if response.status_code == 404:
            return {}
        response.raise_for_status()
        return {b["id"]: b for b in response.json()["data"]}

    def belief(self, user: str, belief_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"/v1/users/{user}/beliefs/{belief_id}").json())

    def preview(self, user: str, query: str) -> dict[str, Any]:
        body = {"model": MODEL, "messages": [{"role": "user", "content": query}]}
        response = self.http.post(f"/v1/users/{user}/preview", json=body)
        response.raise_for_status()
        return dict(response.json())

    def background(self, user: str, statements: list[str]) -> None:
        document = background_document(statements)
        self.http.post(f"/v1/users/{user}/import", json=document).raise_for_status()

    def say(self, user: str, turns: list[str]) -> None:
        for text in turns:
            self.chat(user, text)
            self.drain()


def background_document(statements: list[str]) -> dict[str, Any]:
    """An export document of `statements` as stated preferences: a user's background beliefs."""
    now = datetime.now(UTC).isoformat()
    beliefs = []
    for i, text in enumerate(statements):
        belief_id = f"bel_bg{i:03d}{random.getrandbits(60):016x}"
        beliefs.append(
            {
                "id": belief_id,
                "statement": text,
                "context": "preferences",
                "status": "active",
                "source": "stated",
                "confidence": 0.88,
                "version": 1,
                "supersedes": None,
                "superseded_by": None,
                "valid_from": now,
                "valid_to": None,
                "created_at": now,
                "updated_at": now,
                "evidence": [
                    {
                        "id": f"evi_{belief_id[4:]}",
                        "source": "stated",
                        "kind": "turn",
                        "quote": text,
                        "request_id": None,
                        "observation_id": None,
                        "polarity": 1,
                        "weight": 1.0,
                        "anchor": None,
                        "at": now,
                    }
                ],
            }
        )
    return {"format": "selfmodel.export/v1", "beliefs": beliefs}


def _pct(hits: int, total: int) -> str:
    return f"{100 * hits / total:5.1f}% ({hits}/{total})" if total else "  n/a"


def _background(pool: list[str], rng: random.Random, n: int = 99) -> list[str]:
    return rng.sample(pool, min(n, len(pool)))


def run_scenarios(proxy: Proxy, scenarios: list[dict[str, Any]], pool: list[str]) -> None:
    rng = random.Random(SEED)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for s in scenarios:
        by_kind.setdefault(s["kind"], []).append(s)

    old_injected = new_injected = new_cases = learned = 0
    outcome = {"superseded": 0, "retracted": 0, "unchanged": 0}
    failures: list[str] = []
    wrong: list[str] = []  # beliefs that did not change but were superseded or retracted
    kept = keep_cases = 0
    revisions = by_kind.get("revision", [])
    for s in revisions:
        user = proxy.new_user("rev")
        proxy.background(user, _background(pool, rng))
        before = set(proxy.beliefs(user))
        proxy.say(user, s["setup"])
        old_ids = set(proxy.beliefs(user)) - before
        if not old_ids:
            failures.append(f"{s['id']}: setup not learned")
            continue
        proxy.say(user, s.get("keep", []))
        keep_ids = set(proxy.beliefs(user)) - before - old_ids
        learned += 1
        standing = set(proxy.beliefs(user)) - old_ids  # what the turn must leave alone
        proxy.say(user, [s["turn"]])
        after = proxy.beliefs(user)
        new_ids = set(after) - before - old_ids - keep_ids
        states = {proxy.belief(user, i)["status"] for i in old_ids}
        if "active" in states:
            outcome["unchanged"] += 1
        elif "superseded" in states:
            outcome["superseded"] += 1
        else:
            outcome["retracted"] += 1
        for i in sorted(standing - set(after)):
            wrong.append(f"{s['id']}: {proxy.belief(user, i)['statement']!r} by {s['turn']!r}")
        if s.get("keep"):
            keep_cases += 1
            kept += bool(keep_ids) and keep_ids <= set(after)
        injected = {b["id"] for b in proxy.preview(user, s["query"])["beliefs"]}
        stale = bool(injected & old_ids)
        old_injected += stale
        if s.get("new_marker"):
            new_cases += 1
            fresh = bool(injected & new_ids)
            new_injected += fresh
            if not fresh:
                failures.append(f"{s['id']}: new state not injected ({s['turn']!r})")
        if stale:
            failures.append(f"{s['id']}: old state injected ({s['turn']!r})")
    print(f"revisions ({len(revisions)} cases, old state learned in {learned}):")
    print(f"  old state injected after the revision  {_pct(old_injected, learned)}  (bar <= 2%)")
    print(f"  new state injected                     {_pct(new_injected, new_cases)}  (bar >= 95%)")
    print(
        f"  old belief superseded {outcome['superseded']}, retracted {outcome['retracted']}, "
        f"still active {outcome['unchanged']}"
    )
    print(
        f"  wrongly superseded or retracted: {len(wrong)} beliefs in {learned} cases "
        f"(~100 each); a near belief kept {_pct(kept, keep_cases)}"
    )
    for line in wrong:
        print(f"    wrong: {line}")

    same = by_kind.get("restatement", [])
    one = 0
    for s in same:
        user = proxy.new_user("same")
        proxy.background(user, _background(pool, rng))
        versions = {i: b["version"] for i, b in proxy.beliefs(user).items()}
        proxy.say(user, [*s["setup"], s["turn"]])
        # The beliefs the two turns created or reinforced (one may be a background belief).
        touched = {i for i, b in proxy.beliefs(user).items() if versions.get(i, 0) < b["version"]}
        if len(touched) == 1:
            one += 1
        else:
            failures.append(f"{s['id']}: {len(touched)} beliefs from a restatement")
    print(f"restatements: one belief {_pct(one, len(same))}")

    distinct = by_kind.get("distinct", [])
    merged = 0
    for s in distinct:
        user = proxy.new_user("distinct")
        proxy.background(user, _background(pool, rng))
        versions = {i: b["version"] for i, b in proxy.beliefs(user).items()}
        proxy.say(user, s["setup"])
        now = proxy.beliefs(user)
        first = {i: b["version"] for i, b in now.items() if versions.get(i, 0) < b["version"]}
        proxy.say(user, [s["turn"]])
        after = proxy.beliefs(user)
        # Wrongly merged: the second statement reinforced or replaced the first one. (It may
        # rightly restate or contradict a background belief: that is not counted.)
        if any(i not in after or after[i]["version"] > v for i, v in first.items()):
            merged += 1
            failures.append(f"{s['id']}: merged {s['turn']!r} into {s['setup'][0]!r}")
    if distinct:
        print(f"distinct statements on a near topic: merged {_pct(merged, len(distinct))} (want 0)")

    non = by_kind.get("nonstatement", [])
    stored_bad = stored_good = want_good = 0
    for s in non:
        user = proxy.new_user("non")
        proxy.say(user, [s["turn"]])
        stored = bool(proxy.beliefs(user))
        if s["store"]:
            want_good += 1
            stored_good += stored
            if not stored:
                failures.append(f"{s['id']}: style preference not stored ({s['turn']!r})")
        else:
            stored_bad += stored
            if stored:
                failures.append(f"{s['id']}: non-statement stored ({s['turn']!r})")
    print(
        f"non-statements: stored {_pct(stored_bad, len(non) - want_good)} (want 0); "
        f"lasting style requests stored {_pct(stored_good, want_good)}"
    )

    obs = by_kind.get("observation", [])
    landed = 0
    for s in obs:
        user = proxy.new_user("obs")
        proxy.background(user, _background(pool, rng))
        before = set(proxy.beliefs(user))
        proxy.say(user, s["setup"])
        target = set(proxy.beliefs(user)) - before
        response = proxy.http.post(
            f"/v1/users/{user}/observations",
            json={"text": s["observation"], "weight": s["weight"]},
        ).json()
        belief = response.get("belief") or {}
        if target and belief.get("id") in target and not response.get("created"):
            landed += 1
        else:
            failures.append(f"{s['id']}: observation did not land on its belief")
    print(f"observations: landed as evidence on their belief {_pct(landed, len(obs))}")

    times = by_kind.get("relative_time", [])
    dated = 0
    for s in times:
        user = proxy.new_user("time")
        sent = datetime.now(UTC)
        proxy.say(user, [s["turn"]])
        found = list(proxy.beliefs(user).values())
        expected = sent - timedelta(days=s["days_ago"])
        ok = False
        for b in found:
            valid_from = datetime.fromisoformat(b["valid_from"].replace("Z", "+00:00"))
            if abs((valid_from - expected).total_seconds()) <= max(2, s["days_ago"] * 0.1) * 86400:
                ok = True
        dated += ok
        if not ok:
            failures.append(f"{s['id']}: valid_from not resolved ({s['turn']!r})")
    print(f"relative times: valid_from resolved {_pct(dated, len(times))}")
    if failures:
        print(f"  misses ({len(failures)}):")
        for line in failures:
            print(f"    {line}")


def whole_loop(proxy: Proxy, cases: list[dict[str, Any]], distractors: list[str], n: int) -> None:
    rng = random.Random(SEED)
    chosen = rng.sample(cases, min(n, len(cases)))
    pool = [c["gold_preference"] for c in cases]
    hits = touched_hits = reworded = 0
    why = {"nothing learned": 0, "merged into another belief": 0, "learned, not injected": 0}
    tokens: list[int] = []
    for case in chosen:
        user = proxy.new_user("loop")
        others = [p for p in pool if p != case["gold_preference"]]
        proxy.background(user, rng.sample(others, 99))
        start = proxy.beliefs(user)
        versions = {i: b["version"] for i, b in start.items()}
        wordings: dict[str, str] = {}
        history: list[dict[str, str]] = []
        around = rng.sample(distractors, 4)
        turns = [around[0], around[1], case["preference_turn"]["content"], around[2], around[3]]
        learned: set[str] = set()
        touched: set[str] = set()
        for i, text in enumerate(turns):
            if i == 2:  # the wordings just before the preference is said
                proxy.drain()
                wordings = {b_id: b["statement"] for b_id, b in proxy.beliefs(user).items()}
            proxy.chat(user, text, history)
            history += [
                {"role": "user", "content": text},
                {"role": "assistant", "content": "Sure, here you go."},
            ]
            if i == 2:
                proxy.drain()
                now = proxy.beliefs(user)
                learned = set(now) - set(versions)
                # A restatement that says more rewords the belief it restates: the
                # preference's own words are then stored, on the old belief's id.
                changed = {
                    b_id
                    for b_id, b in now.items()
                    if wordings.get(b_id, b["statement"]) != b["statement"]
                }
                reworded += len(changed)
                learned |= changed
                # A restatement of a background belief reinforces it instead of adding one.
                touched = learned | {
                    i for i, b in now.items() if b["version"] > versions.get(i, b["version"])
                }
        proxy.drain()
        preview = proxy.preview(user, case["query"])
        injected = {b["id"] for b in preview["beliefs"]}
        hits += bool(injected & learned)
        touched_hits += bool(injected & touched)
        if not injected & learned:
            if not touched:
                why["nothing learned"] += 1
            elif not learned:
                why["merged into another belief"] += 1
            else:
                why["learned, not injected"] += 1
        tokens.append(int(preview["tokens"]))
    print(
        f"whole loop ({len(chosen)} PrefEval cases, 99 background beliefs, 4 unrelated turns "
        f"around the preference): recall {hits / len(chosen):.3f} (bar >= 0.95), median "
        f"injected tokens {statistics.median(tokens):.0f} (bar <= 250)"
    )
    print(
        f"  counting a reinforced background restatement as learned: recall "
        f"{touched_hits / len(chosen):.3f}; misses: {why}; background beliefs reworded in the "
        f"preference's words (counted as learned): {reworded}"
    )


def unrelated(proxy: Proxy, distractors: list[str], n: int = 300) -> None:
    learned = 0
    examples: list[str] = []
    for text in distractors[:n]:
        user = proxy.new_user("noise")
        proxy.chat(user, text)
    proxy.drain(600)
    for i in range(1, proxy.users + 1):
        user = f"noise-{i}"
        found = proxy.beliefs(user) if i else {}
        learned += len(found)
        examples += [b["statement"] for b in found.values()]
    print(f"unrelated turns ({min(n, len(distractors))}): {learned} beliefs learned (bar <= 10)")
    for text in examples[:12]:
        print(f"    {text[:110]}")


async def _burst(url: str, user: str, text: str, n: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        body = {"model": MODEL, "user": user, "messages": [{"role": "user", "content": text}]}
        results = await asyncio.gather(
            *[client.post("/v1/chat/completions", json=body) for _ in range(n)]
        )
    assert all(r.status_code == 200 for r in results)


def concurrent(proxy: Proxy, url: str) -> None:
    user = "burst-user"
    asyncio.run(_burst(url, user, "I am allergic to shellfish.", 50))
    proxy.drain()
    found = proxy.beliefs(user)
    evidence = [len(proxy.belief(user, i)["evidence"]) for i in found]
    print(
        f"50 identical concurrent turns: {len(found)} active belief(s), evidence {evidence} "
        "(want 1 belief with 50)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", default=str(REPO / "benchmarks" / "data" / "evolve_dev.jsonl"))
    parser.add_argument("--loop-cases", type=int, default=100)
    parser.add_argument("--skip", default="", help="comma list: scenarios,loop,unrelated,burst")
    parser.add_argument("--only", default="", help="only the scenarios whose id starts so")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    scenarios = [json.loads(line) for line in Path(args.file).read_text().splitlines() if line]
    scenarios = [s for s in scenarios if s["id"].startswith(args.only)]
    cases = [json.loads(line) for line in (EVAL_DIR / "prefeval_explicit_dev.jsonl").open()]
    messages = json.loads((EVAL_DIR / "distractor_messages.json").read_text())
    distractors = [m["content"] for m in messages if m["role"] == "user"]
    pool = [c["gold_preference"] for c in cases]

    fake = ServerThread(build_app(FakeUpstream())).start()
    with (
        tempfile.TemporaryDirectory(prefix="selfmodel-evolve-") as tmp,
        Children(Path(tmp)) as kids,
    ):
        work = Path(tmp)
        port = free_port()
        config = {
            "server": {"host": HOST, "log_level": "warning"},
            "model_list": [
                {
                    "model_name": MODEL,
                    "litellm_params": {
                        "model": f"openai/{MODEL}",
                        "api_base": fake.url + "/v1",
                        "api_key": "sk-fake",
                    },
                }
            ],
            "store": {"path": str(work / "store")},
            "extraction": {"enabled": True, "mode": "local", "workers": 2},
        }
        (work / "config.yaml").write_text(yaml.safe_dump(config))
        child = kids.start("selfmodel", _argv(work / "config.yaml", port), cwd=work)
        url = f"http://{HOST}:{port}"
        wait_ready(child, f"{url}/healthz", 300)
        proxy = Proxy(url)
        print(f"# evolve: {Path(args.file).name}, {len(scenarios)} scenarios; {load_note()}")
        if "scenarios" not in skip:
            run_scenarios(proxy, scenarios, pool)
        if "loop" not in skip:
            whole_loop(proxy, cases, distractors, args.loop_cases)
        if "unrelated" not in skip:
            proxy.users = 0
            unrelated(proxy, distractors)
        if "burst" not in skip:
            concurrent(proxy, url)
    fake.stop()


if __name__ == "__main__":
    main()
