"""Measure the local gate and the offline extractor on the development eval data.

    python benchmarks/gate_eval.py [--eval-dir ../shared/eval] [--examples 5] [--probe FILE ...]

Prints the gate's keep rate on PrefEval preference turns, its skip rate on the
user turns of unrelated chats, and the local extractor's recall and false
positives. Timing is printed for information only; it is not a bar here.

The probes are small hand-written sets of single sentences, half plain statements about the
speaker of many shapes and topics, half requests, questions, meta talk, reactions, filler and
task sentences: benchmarks/data/gate_probe.jsonl (80) was written before the gate was run on
it, benchmarks/data/gate_probe_holdout.jsonl (60) after the gate's last change. Their kept
counts are printed for the gate and for the local extractor, with every sentence on the wrong
side.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from memory.learn.gate import gate  # noqa: E402
from memory.learn.local import Extracted, extract_statements  # noqa: E402

DEFAULT_CONTEXTS = {
    "preferences": "What the user likes, dislikes or prefers.",
    "expertise": "What the user knows and does: profession, skills, experience level.",
    "goals": "What the user is working toward: projects, plans, learning goals.",
    "constraints": "Hard limits: diet, allergies, health, budget, schedule, location, family.",
    "communication_style": "How the user wants to be answered: length, tone, format.",
}
# gate_probe was written before the gate was changed on it (and then looked at while changing
# it); gate_probe_holdout was written after the changes and run once.
PROBES = ("gate_probe", "gate_probe_holdout")
RECALL_DEFINITION = (
    "main preference sentence = first sentence of the case's gold_preference; a case is a hit "
    "when some extracted quote contains >= 50% of that sentence's distinct content words "
    "(lowercase alphabetic tokens of 3+ letters)"
)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{3,}", text.lower()))


def _main_sentence(gold: str) -> str:
    return re.split(r"(?<=[.!?])\s+", gold.strip().strip('"'))[0]


def _hit(main: str, extracted: list[Extracted]) -> bool:
    target = _words(main)
    if not target:
        return False
    return any(len(target & _words(e.quote)) / len(target) >= 0.5 for e in extracted)


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def _probe(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print(f"\n-- probe {path.name}: n={len(rows)}")
    for about in (True, False):
        group = [r for r in rows if r["about_user"] is about]
        gated = [gate([r["text"]]) for r in group]
        extracted = [extract_statements(r["text"], DEFAULT_CONTEXTS) for r in group]
        label = "statements about the user" if about else "non-statements"
        print(
            f"{label:27} n={len(group)} gate kept={sum(d.keep for d in gated)} "
            f"extracted={sum(bool(e) for e in extracted)}"
        )
        for row, d, e in zip(group, gated, extracted, strict=True):
            if d.keep != about or bool(e) != about:
                marks = f"gate={'keep' if d.keep else 'skip'} extract={'yes' if e else 'no'}"
                print(f"    [{row['shape']}; {marks}] {row['text']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--examples", type=int, default=5, help="example misses of each kind")
    parser.add_argument(
        "--probe",
        type=Path,
        nargs="*",
        default=[REPO / "benchmarks" / "data" / f"{n}.jsonl" for n in PROBES],
    )
    args = parser.parse_args(argv)

    cases = [
        json.loads(line)
        for line in (args.eval_dir / "prefeval_explicit_dev.jsonl").read_text().splitlines()
        if line.strip()
    ]
    messages = json.loads((args.eval_dir / "distractor_messages.json").read_text())
    distractors = [m["content"] for m in messages if m.get("role") == "user"]
    turns = [c["preference_turn"]["content"] for c in cases]

    started = time.perf_counter()
    pref_gate = [gate([t]) for t in turns]
    dist_gate = [gate([t]) for t in distractors]
    gate_us = (time.perf_counter() - started) / (len(turns) + len(distractors)) * 1e6

    kept = sum(d.keep for d in pref_gate)
    skipped = sum(not d.keep for d in dist_gate)
    print(
        f"gate keep rate on preference turns:       n={len(turns)} kept={kept} "
        f"({_pct(kept, len(turns))})"
    )
    print(
        f"gate skip rate on distractor user turns:  n={len(distractors)} skipped={skipped} "
        f"({_pct(skipped, len(distractors))})"
    )
    print(f"gate mean time per message: {gate_us:.0f} us")

    pref_ext = [extract_statements(t, DEFAULT_CONTEXTS) for t in turns]
    hits = [
        _hit(_main_sentence(c["gold_preference"]), e) for c, e in zip(cases, pref_ext, strict=True)
    ]
    dist_ext = [extract_statements(t, DEFAULT_CONTEXTS) for t in distractors]
    fp_statements = sum(len(e) for e in dist_ext)
    fp_turns = sum(bool(e) for e in dist_ext)
    contexts: dict[str, int] = {}
    for extracted in pref_ext:
        for e in extracted:
            contexts[e.context] = contexts.get(e.context, 0) + 1

    print(
        f"\nlocal extraction recall on preference turns: n={len(cases)} hits={sum(hits)} "
        f"({_pct(sum(hits), len(cases))})"
    )
    print(f"  definition: {RECALL_DEFINITION}")
    print(f"mean statements per preference turn: {sum(map(len, pref_ext)) / len(turns):.2f}")
    print(f"contexts chosen on preference turns: {dict(sorted(contexts.items()))}")
    print(
        f"extraction false positives on distractor user turns: {fp_statements} statements "
        f"from {fp_turns} of {len(distractors)} turns"
    )

    n = args.examples
    print("\n-- gate misses (preference turns skipped):")
    for text, d in [(t, d) for t, d in zip(turns, pref_gate, strict=True) if not d.keep][:n]:
        print(f"  [{d.reason}] {_short(text)}")
    print("-- gate false keeps (distractor turns kept):")
    for text, d in [(t, d) for t, d in zip(distractors, dist_gate, strict=True) if d.keep][:n]:
        print(f"  [{d.reason}] {_short(text)}")
    print("-- extraction misses (no overlapping statement):")
    for text, ok in list(zip(turns, hits, strict=True)):
        if not ok and n > 0:
            print(f"  {_short(text)}")
            n -= 1
    print("-- extraction false positives (statements from distractor turns):")
    shown = 0
    for extracted in dist_ext:
        for e in extracted:
            if shown < args.examples:
                print(f"  [{e.context}, {e.polarity:+d}] {_short(e.statement)}")
                shown += 1
    for probe in args.probe:
        _probe(probe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
