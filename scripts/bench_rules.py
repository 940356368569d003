"""Measure every built-in rule on a micro workload with the lab; print a Markdown table.

    python scripts/bench_rules.py [--rule ID ...]

Each micro project is written to a temp dir, the rule rewrites its function, and
``tools.lab.measure`` compares base and the rewrite (fresh processes, interleaved,
sequential verdict, outputs compared). The figures in tasks/README.md come from here.
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
from pathlib import Path

import yaml

from perfagent.agent.proposers.rules import file_diff
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.rules import RULES, apply_rule
from perfagent.tools.taskspec import load_task

# rule id -> (function name, module source, workload setup/call)
MICRO: dict[str, tuple[str, str, str]] = {
    "linear-search-to-index": (
        "enrich",
        """
        def enrich(orders: list, products: list) -> list:
            out = []
            for order in orders:
                product = next((p for p in products if p["sku"] == order["sku"]), None)
                out.append((order["id"], product["price"] if product else None))
            return out
    """,
        """
        def setup():
            global ORDERS, PRODUCTS
            PRODUCTS = [{"sku": f"s{i}", "price": i} for i in range(400)]
            ORDERS = [{"id": i, "sku": f"s{(i * 7) % 450}"} for i in range(1500)]

        def workload():
            return micro.enrich(ORDERS, PRODUCTS)
    """,
    ),
    "list-index-to-dict": (
        "positions",
        """
        def positions(keys):
            seen: list[str] = []
            counts = []
            for k in keys:
                if k in seen:
                    counts[seen.index(k)] += 1
                else:
                    seen.append(k)
                    counts.append(1)
            return counts
    """,
        """
        def setup():
            global KEYS
            KEYS = [f"k{(i * 31) % 1500}" for i in range(6000)]

        def workload():
            return micro.positions(KEYS)
    """,
    ),
    "regex-slice-to-pos": (
        "words",
        """
        import re

        def words(text):
            pos, out = 0, []
            while pos < len(text):
                match = re.match(r"[a-z]+|[^a-z]", text[pos:])
                out.append(match.group())
                pos += len(match.group())
            return len(out)
    """,
        """
        def setup():
            global TEXT
            TEXT = "lorem ipsum dolor sit amet, " * 4000

        def workload():
            return micro.words(TEXT)
    """,
    ),
    "list-membership-to-set": (
        "distinct",
        """
        def distinct(words):
            seen = []
            count = 0
            for w in words:
                if w not in seen:
                    seen.append(w)
                    count += 1
            return count
    """,
        """
        def setup():
            global WORDS
            WORDS = [f"w{(i * 13) % 2000}" for i in range(6000)]

        def workload():
            return micro.distinct(WORDS)
    """,
    ),
    "compile-regex-once": (
        "dates",
        """
        import re

        def dates(lines):
            found = 0
            for line in lines:
                if re.search(r"\\d{4}-\\d{2}-\\d{2}", line):
                    found += 1
            return found
    """,
        """
        def setup():
            global LINES
            LINES = [f"event {i} at 2024-03-{i % 28 + 1:02d}" if i % 3 else "none"
                     for i in range(60000)]

        def workload():
            return micro.dates(LINES)
    """,
    ),
    "list-concat-to-append": (
        "squares",
        """
        def squares(n):
            values = []
            for i in range(n):
                if i % 3:
                    values = values + [i * i]
            return values
    """,
        """
        def workload():
            return micro.squares(6000)
    """,
    ),
    "string-concat-to-join": (
        "render",
        """
        def render(rows):
            html = ""
            for row in rows:
                html += "<td>" + str(row) + "</td>"
            return html
    """,
        """
        def setup():
            global ROWS
            ROWS = list(range(150000))

        def workload():
            return micro.render(ROWS)
    """,
    ),
    "sorted-index-to-min-max": (
        "extremes",
        """
        def extremes(groups):
            out = []
            for values in groups:
                out.append((sorted(values)[0], sorted(values)[-1]))
            return out
    """,
        """
        def setup():
            global GROUPS
            GROUPS = [[(i * 7919 + j * 104729) % 10007 for j in range(300)] for i in range(300)]

        def workload():
            return micro.extremes(GROUPS)
    """,
    ),
    "any-all-generator": (
        "flagged",
        """
        def flagged(groups, limit):
            return sum(1 for values in groups if any([v > limit for v in values]))
    """,
        """
        def setup():
            global GROUPS
            GROUPS = [[(i * 37 + j) % 1000 for j in range(3000)] for i in range(200)]

        def workload():
            return micro.flagged(GROUPS, 20)
    """,
    ),
    "incremental-window-aggregate": (
        "smooth",
        """
        def smooth(values, window):
            return [sum(values[i : i + window]) / window for i in range(len(values) - window + 1)]
    """,
        """
        def setup():
            global VALUES
            VALUES = [round(20 + (i * 7919 % 1000) / 100, 2) for i in range(20000)]

        def workload():
            return micro.smooth(VALUES, 60)
    """,
    ),
    "hoist-loop-invariant": (
        "energy",
        """
        import math

        def energy(samples, gain: float, offset: float):
            seen = set()
            total = 0.0
            for x in samples:
                level = math.sqrt(abs(x)) * (gain * 0.5 + offset)
                seen.add(round(level, 1))
                total += level * (gain - offset)
            return total, len(seen)
    """,
        """
        def setup():
            global SAMPLES
            SAMPLES = [((i * 7919) % 2001 - 1000) / 7.0 for i in range(200000)]

        def workload():
            return micro.energy(SAMPLES, 1.5, 0.25)
    """,
    ),
    "dict-keys-membership": (
        "known",
        """
        def known(words, vocabulary):
            return sum(1 for w in words if w in vocabulary.keys())
    """,
        """
        def setup():
            global WORDS, VOCAB
            VOCAB = {f"w{i}": i for i in range(5000)}
            WORDS = [f"w{i % 7000}" for i in range(300000)]

        def workload():
            return micro.known(WORDS, VOCAB)
    """,
    ),
}


def bench(rule_id: str, root: Path) -> str:
    function, module, workload = MICRO[rule_id]
    source = textwrap.dedent(module).lstrip()
    folder = root / rule_id
    (folder / "repo").mkdir(parents=True)
    (folder / "repo" / "micro.py").write_text(source)
    (folder / "workload.py").write_text("import micro\n" + textwrap.dedent(workload))
    (folder / "task.yaml").write_text(
        yaml.safe_dump(
            {
                "id": f"micro-{rule_id}",
                "repo": "repo",
                "workload": {"kind": "python", "file": "workload.py", "repeat": 5},
            }
        )
    )
    new = apply_rule(source, function, rule_id)
    if new is None:
        return f"| {rule_id} | rule did not fire | | | |"
    report = measure(
        load_task(folder / "task.yaml"),
        MeasureOptions(candidate_patch=file_diff("micro.py", source, new)),
    )
    w = report.workloads[0]
    return (
        f"| `{rule_id}` | {report.verdict} | {report.speedup:.2f}× "
        f"[{report.ci[0]:.2f}, {report.ci[1]:.2f}] | {w.base_median * 1000:.1f} → "
        f"{w.variants['candidate'].median * 1000:.1f} ms | {report.runs} | "
        f"{report.equivalent} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rule", action="append", choices=sorted(MICRO))
    args = parser.parse_args()
    assert set(MICRO) == set(RULES), "every rule needs a micro workload"
    print("| rule | verdict | speedup [95 % CI] | median per call | runs | equivalent |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="perfagent-rules-") as tmp:
        for rule_id in args.rule or list(RULES):
            print(bench(rule_id, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
