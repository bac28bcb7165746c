"""Consult benchmark on one core: answer latency (routing prior + BM25 + typo repair + re-rank) over the
knowledge base and over a synthetic 50,000-entry base made by recombining the real entries.

    python bench/consult.py [--queries 2000] [--synthetic 50000] [--seed 7]

Prints JSON lines; the last one holds p50_ms, p99_ms, p50_ms_50k, p99_ms_50k, entries, build_s_50k.
The questions are the retrieval test table (tests/consult/questions.py) and the knowledge base's own
questions, each asked with one random character changed (a typo); no data set is read.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RULES = ROOT / "mediation_rules"
FILLER = "的了是在有和就不人都一上也很到说要去"   # typos: a common character in place of a real one


def setup():
    """(routing engine, knowledge base, jieba tokenizer), loaded as the app loads them."""
    from app.consult.knowledge import read_knowledge
    from app.routing import load_engine

    engine = load_engine(RULES)
    kb = read_knowledge(RULES, frozenset(engine.categories))
    return engine, kb, engine.classifier.tokenizer


def questions(kb, rng: random.Random, n: int) -> list[str]:
    """n different questions: the test table's and the base's own, each with one character replaced at
    random (so nearly every one is new to the tokenizer's cache, as real traffic is)."""
    from tests.consult.questions import QUESTIONS

    pool = [q for q, _ in QUESTIONS] + [e.question for e in kb.entries]
    out: list[str] = []
    while len(out) < n:
        text = rng.choice(pool)
        i = rng.randrange(len(text))
        out.append(text[:i] + rng.choice(FILLER) + text[i + 1:])
    return out


def synthetic(kb, rng: random.Random, size: int) -> list:
    """size entries, each recombining two real ones: clauses of both questions, sentences of both
    answers, keywords of both; category, citations and next step of the first."""
    entries = list(kb.entries)
    out = []
    for i in range(size):
        a, b = rng.choice(entries), rng.choice(entries)
        qa, qb = re.split(r"(?<=，)", a.question), re.split(r"(?<=，)", b.question)
        sa, sb = re.split(r"(?<=。)", a.answer), re.split(r"(?<=。)", b.answer)
        question = "".join(qa[: max(1, len(qa) - 1)] + qb[-1:])
        answer = "".join(sa[:2] + sb[-2:])
        out.append(replace(a, id=f"syn-{i}", question=question, answer=answer,
                           keywords=a.keywords[:3] + b.keywords[:3]))
    return out


def measure(retriever, engine, texts: list[str]) -> dict:
    """Latency of answer_question per text, after a warm-up."""
    from app.consult.retrieval import answer_question

    for text in ("老板拖欠工资", "楼上漏水怎么办", "離婚財產", "房东不退压金", "今天天气怎么样"):
        answer_question(retriever, engine, text)   # warm-up: lazy loads, not counted
    times, answered = [], 0
    for text in texts:
        start = time.perf_counter()
        hits, _ = answer_question(retriever, engine, text)
        times.append((time.perf_counter() - start) * 1000)
        answered += bool(hits)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    return {"p50_ms": round(statistics.median(times), 3), "p99_ms": round(p99, 3),
            "max_ms": round(times[-1], 3), "mean_ms": round(statistics.fmean(times), 3),
            "answered_share": round(answered / len(texts), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--synthetic", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})   # one core, as one gunicorn worker has
    from app.consult.retrieval import build_retriever

    rng = random.Random(args.seed)
    start = time.perf_counter()
    engine, kb, tokenizer = setup()
    real = build_retriever(kb.entries, tokenizer, sorted(engine.categories))
    startup = time.perf_counter() - start
    texts = questions(kb, rng, args.queries)
    small = measure(real, engine, texts)
    print(json.dumps({"base": "knowledge", "entries": len(kb), "queries": len(texts),
                      "startup_s": round(startup, 2), **small}, ensure_ascii=False), flush=True)

    start = time.perf_counter()
    big_entries = synthetic(kb, rng, args.synthetic)
    big = build_retriever(big_entries, tokenizer, sorted(engine.categories))
    build = time.perf_counter() - start
    large = measure(big, engine, texts)
    print(json.dumps({"base": "synthetic", "entries": len(big_entries), "queries": len(texts),
                      "build_s": round(build, 2), **large}, ensure_ascii=False), flush=True)
    print(json.dumps({"p50_ms": small["p50_ms"], "p99_ms": small["p99_ms"], "p50_ms_50k": large["p50_ms"],
                      "p99_ms_50k": large["p99_ms"], "entries": len(kb), "entries_50k": len(big_entries),
                      "queries": len(texts), "build_s_50k": round(build, 2)}))


if __name__ == "__main__":
    main()
