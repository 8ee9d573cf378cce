"""Screening benchmark on the real OFAC SDN list (../shared/data/sanctions/sdn.csv).

Measures what a user waits for: the first load (parse + index, written to the cache), a
cached load (what every `advisor screen` call pays), screening one question and screening
one typed name, and the memory the index takes. Targets: cached load <= 1 s and p95 <= 10 ms
per question. Run alone (`python bench/screening_bench.py`) it updates only the
"screening" key of bench/results.json; `bench/run.py` calls `bench_screening` too.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from advisor.screening import Screener
from advisor.screening.models import Party

DEFAULT_LIST = Path("../shared/data/sanctions/sdn.csv")
TEMPLATES = [
    "Can I share my fuzzer with {org}?",
    "A postdoc who worked for {org} wants to visit our lab next month. Do we need a licence?",
    "We received a purchase order from {org} for our test kit; can we ship it?",
    "Is it OK to co-author a paper with {org} about radar signal processing?",
    "My collaborator {org} asked for the source code of our navigation model. What should I do?",
    "{org} invited me to give a talk next spring. Can I bring my laptop with our tools?",
]
INNOCENT = [
    "Imperial College London",
    "the Forest Ecology group at Imperial College",
    "Maria Garcia at the University of Toronto",
    "ETH Zurich",
    "Professor John Smith of MIT",
    "Siemens AG",
    "Tsinghua University",
    "Dr. Emily Johnson",
    "the Max Planck Institute for Informatics",
    "Toyota Motor Corporation",
    "Stanford University",
    "KAIST",
]


def _listed_name(party: Party, rng: random.Random) -> str:
    """How a researcher would write a listed name: given name + surname, or the org name."""
    if party.type == "individual" and "," in party.name:
        surname, _, given = party.name.partition(",")
        first = given.split()[0] if given.split() else ""
        return f"{first} {surname.title()}".strip()
    return party.name.title() if rng.random() < 0.5 else party.name


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)


def _timed(fn, items: list[str]) -> tuple[list[float], int]:
    times, hits = [], 0
    for item in items:
        started = time.perf_counter()
        hits += bool(fn(item))
        times.append((time.perf_counter() - started) * 1000)
    return times, hits


def bench_screening(
    path: Path = DEFAULT_LIST, n_questions: int = 400, n_names: int = 300, seed: int = 0
) -> dict | None:
    """Load, cached load, per-question and per-name latency and memory on a real list."""
    if not path.exists():
        print(f"bench: {path} is absent; screening not measured", file=sys.stderr)
        return None
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="advisor-screening-bench-") as tmp:
        cache = Path(tmp) / "screening-cache"
        started = time.perf_counter()
        screener = Screener(path, cache_dir=cache)
        cold_s = time.perf_counter() - started
        cached = []
        for _ in range(5):
            started = time.perf_counter()
            again = Screener(path, cache_dir=cache)
            cached.append(time.perf_counter() - started)
            assert again.from_cache
        cache_bytes = sum(f.stat().st_size for f in cache.glob("*.pkl"))
        tracemalloc.start()
        Screener(path, cache_dir=cache)
        _, cached_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    tracemalloc.start()
    Screener(path)
    _, cold_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    parties = screener.parties

    def draw() -> str:
        return (
            _listed_name(rng.choice(parties), rng) if rng.random() < 0.5 else rng.choice(INNOCENT)
        )

    names = [draw() for _ in range(n_names)]
    # Questions name other parties than the typed names, so no answer comes from a warm cache.
    questions = [rng.choice(TEMPLATES).format(org=draw()) for _ in range(n_questions)]
    screener.screen_text(TEMPLATES[0].format(org="Harbin Institute of Technology"))  # warm-up
    q_times, q_hits = _timed(screener.screen_text, questions)
    n_times, n_hits = _timed(screener.screen, names)
    return {
        "list": str(path),
        "format": screener.loaded.format,
        "entries": len(parties),
        "aliases": len(screener.index.aliases),
        "cold_load_s": round(cold_s, 2),
        "cached_load_s": round(statistics.median(cached), 3),
        "cached_load_max_s": round(max(cached), 3),
        "cache_file_mb": round(cache_bytes / 2**20, 1),
        "cold_load_peak_mb": round(cold_peak / 2**20, 1),
        "cached_load_peak_mb": round(cached_peak / 2**20, 1),
        "questions": len(questions),
        "question_p50_ms": _pct(q_times, 0.5),
        "question_p95_ms": _pct(q_times, 0.95),
        "question_max_ms": _pct(q_times, 1.0),
        "flagged_questions": q_hits,
        "names": len(names),
        "name_p50_ms": _pct(n_times, 0.5),
        "name_p95_ms": _pct(n_times, 0.95),
        "names_with_matches": n_hits,
        "targets": {"cached_load_s": 1.0, "question_p95_ms": 10.0},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list", type=Path, default=DEFAULT_LIST)
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    args = parser.parse_args(argv)
    result = bench_screening(args.list)
    if result is None:
        return 2
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data["screening"] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
