"""Score the classifier on a labelled TSV file through a label map (mediation_rules/label_maps/)."""
from __future__ import annotations

import csv
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.routing.rules import RoutingRulesError

LABEL_MAPS_DIR = "label_maps"


@dataclass
class LabelMap:
    """Source labels -> the categories of ours that count as a right answer (None: not scored)."""

    name: str
    labels: dict[str, tuple[str, ...] | None]
    contains: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def accepted(self, label: str) -> tuple[str, ...] | None:
        """Categories accepted for a source label; None when the label is skipped or unknown."""
        if label in self.labels:
            return self.labels[label]
        for part, categories in self.contains:
            if part in label:
                return categories
        return None

    def covers(self, label: str) -> bool:
        """True when the map knows the label (even to skip it)."""
        return label in self.labels or any(part in label for part, _ in self.contains)


def read_label_map(path: Path, known: set[str]) -> LabelMap:
    """Parse one label map, checking that it names only known category ids."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RoutingRulesError(f"{path}: cannot read label map: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("labels"), dict):
        raise RoutingRulesError(f"{path}: expected a mapping with 'labels'")

    def ids(where: str, value) -> tuple[str, ...] | None:
        if value is None:
            return None
        unknown = [v for v in value if v not in known]
        if unknown:
            raise RoutingRulesError(f"{path}: {where}: unknown categories {unknown}")
        return tuple(value)

    labels = {str(k): ids(str(k), v) for k, v in data["labels"].items()}
    contains = [(str(part), ids(str(part), cats)) for part, cats in data.get("contains") or []]
    return LabelMap(str(data.get("name") or path.stem), labels, contains)


def choose_label_map(rules_dir: Path, name: str | None, file_labels: set[str], known: set[str]) -> LabelMap:
    """The label map named `name`, or the one that covers most of the file's labels."""
    folder = Path(rules_dir) / LABEL_MAPS_DIR
    if name:
        return read_label_map(folder / f"{Path(name).stem}.yaml", known)
    maps = [read_label_map(p, known) for p in sorted(folder.glob("*.yaml"))]
    scored = [(sum(m.covers(lb) for lb in file_labels) / max(len(file_labels), 1), m.name, m) for m in maps]
    if not scored or max(scored, key=lambda s: s[:2])[0] < 0.5:
        raise RoutingRulesError(f"no label map in {folder} covers this file's labels; use --labels")
    return max(scored, key=lambda s: s[:2])[2]


def read_rows(path: Path) -> list[tuple[str, str, str]]:
    """Rows (id, label, text) of a headed TSV file without quoting."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r]
    return [(r[0], r[1], "\t".join(r[2:])) for r in rows[1:] if len(r) >= 3]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def evaluate(engine, rows: list[tuple[str, str, str]], label_map: LabelMap) -> dict:
    """Top-1/top-3 accuracy, per-label precision and recall, confusions and timings."""
    per_label: dict[str, Counter] = {}
    confusions: Counter = Counter()
    times: list[float] = []
    top1 = top3 = n = skipped = uncertain = 0
    predicted_into: Counter = Counter()
    for _id, label, text in rows:
        accepted = label_map.accepted(label)
        start = time.perf_counter()
        result = engine.classify(text)
        times.append((time.perf_counter() - start) * 1000)
        if accepted is None:
            skipped += 1
            continue
        n += 1
        uncertain += result.uncertain
        ids = [c.id for c in result.ranked]
        best = ids[0] if ids else "(none)"
        hit = best in accepted
        top1 += hit
        top3 += any(i in accepted for i in ids[:3])
        stats = per_label.setdefault(label, Counter())
        stats["n"] += 1
        stats["hit"] += hit
        for other, cats in label_map.labels.items():
            if cats and best in cats:
                predicted_into[other] += 1
        if not hit:
            confusions[(label, best)] += 1
    return {
        "per_label": {lb: {"n": s["n"], "recall": s["hit"] / s["n"],
                           "precision": s["hit"] / predicted_into[lb] if predicted_into[lb] else 0.0}
                      for lb, s in sorted(per_label.items(), key=lambda kv: -kv[1]["n"])},
        "confusions": confusions.most_common(12),
        "summary": {"n": n, "top1": round(top1 / n, 4) if n else 0.0, "top3": round(top3 / n, 4) if n else 0.0,
                    "p50_ms": round(statistics.median(times), 3) if times else 0.0,
                    "p99_ms": round(_percentile(times, 0.99), 3), "skipped": skipped,
                    "uncertain": round(uncertain / n, 4) if n else 0.0, "label_map": label_map.name},
    }
