"""``perfagent tasks import``: GSO, SWE-Perf and timeit-script rows → task files.

The fixture files in ``tests/fixtures/tasksets/`` follow the datasets' schemas; each holds
malformed rows too, which must be reported by id and skipped while the rest is imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import git
import pytest
from click.testing import CliRunner

from perfagent.agent.cli.tasks import tasks_group
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.tasksets import TaskImportError, import_tasks
from perfagent.tools.tasksets.commands import translate
from perfagent.tools.tasksets.model import Note
from perfagent.tools.tasksets.scripts import describe_lines, parse, strip_timeit_harness
from perfagent.tools.taskspec import load_task

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tasksets"
GSO_FILE = FIXTURES / "gso.jsonl"
QUICK = SessionConfig(min_runs=5, max_runs=20, max_time_s=60, seed=0)


def gso_rows() -> list[dict[str, Any]]:
    """The well-formed rows of the GSO fixture."""
    return [json.loads(line) for line in GSO_FILE.read_text().splitlines()[:2]]


# -- GSO ------------------------------------------------------------------------------------------
GSO_YAML = """\
id: acme__calc-1a2b3c4
description: 'GSO task acme__calc-1a2b3c4: make `calc.total` faster in acme/calc. The visible \
workload
  is GSO''s prob_script; 1 more of its tests are hidden workloads. 4 step(s) could not be \
translated:
  see acme__calc-1a2b3c4/IMPORT_NOTES.md.'
repo: https://github.com/acme/calc
ref: 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c
python: python3.11
setup:
- export CFLAGS=-O2 && python -m pip install requests dill 'numpy<2'
setup_network: true
build:
- export CFLAGS=-O2 && python -m pip install .
workload:
  kind: gso
  file: acme__calc-1a2b3c4/workload.py
  repeat: 1
  timing:
    gc: false
hidden_workloads:
- kind: gso
  file: acme__calc-1a2b3c4/gso_test_1.py
  repeat: 1
  timing:
    gc: false
tests: []
expert:
  commit: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d
"""

BUILD_CAVEAT = (
    "build pip-installs the project into the venv that every variant shares, while perfagent "
    "runs each variant's code from its own tree (first on PYTHONPATH): a project with compiled "
    "extensions needs an in-place build instead (e.g. `python setup.py build_ext --inplace`)."
)
OFFLINE_BUILD = (
    " build also runs without network, so pip's build isolation cannot download build "
    "requirements: install them in setup and add `--no-build-isolation`."
)
ROOT = "system packages need root: install them on this machine first."

GSO_NOTES = f"""\
# acme__calc-1a2b3c4: import notes

Imported by `perfagent tasks import gso` from {GSO_FILE} (gso.jsonl:line 1).

## Not translated: do these yourself

- setup_commands: `sudo apt update -y && sudo apt upgrade -y`: {ROOT}
- setup_commands: `sudo apt-get install -y libopenblas-dev pkg-config`: {ROOT}
- setup_commands: `source $HOME/.cargo/env`: changes the shell environment, and perfagent runs \
each command in a fresh shell: make what it sets available on this machine.
- install_commands: `conda install -y mkl`: conda-only: install the equivalent with pip in \
setup, or on this machine.

## Caveats

- {BUILD_CAVEAT}{OFFLINE_BUILD}

## Translated

- prob_script → the visible workload `acme__calc-1a2b3c4/workload.py` (kind gso, repeat 1: one \
timed value per fresh process, setup() before each experiment() as GSO's timeit with number=1, \
the collector off as in timeit; a value holds as many experiments as last ≥ 100 ms, after a \
discarded warm-up, when one is shorter).
- hidden workloads, the scripts as given: tests[1] → `acme__calc-1a2b3c4/gso_test_1.py`; \
tests[0] is prob_script itself.
- opt_commit → the expert commit 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d.
- install_commands (GSO reruns them after every patch): those that need the network (installs \
from an index, downloads) run once in setup (1), the others in build, in every variant tree \
without network (1).
- install_commands: `export CFLAGS=-O2` is carried into the commands after it.
- install_commands: `uv pip install . --reinstall` → `export CFLAGS=-O2 && python -m pip install \
.` (uv pip → python -m pip; uv-only --reinstall dropped).
- install_commands: `uv pip install requests dill 'numpy<2'` → `export CFLAGS=-O2 && python -m \
pip install requests dill 'numpy<2'` (uv pip → python -m pip).
- correctness: check_equivalence in every workload; no test commands.

## Left out

- setup_commands: `curl -LsSf https://astral.sh/uv/0.5.4/install.sh | sh`: perfagent installs \
with pip; uv is not needed.
- install_commands: `git clean -xfd`: every variant tree starts clean, and it would delete the \
files a patch adds (GSO's own evaluation leaves it out too).
- install_commands: `uv venv --python 3.11`: perfagent creates the task's venv (its --python \
3.11 becomes `python: python3.11`).
- install_commands: `source .venv/bin/activate`: perfagent runs every command in the task's venv.
- install_commands: `which python`: informational only.
- install_commands: `python --version`: informational only.
- install_commands: `uv pip show calc`: informational only.
- `created_at`, `hints_text`, `gt_commit_message`, `arch`, `instance_image_tag`: not used \
(hints_text and gt_commit_message are the expert commit's message).
"""

GSO_FALLBACK_YAML = """\
id: acme__calc-5d6e7f8
description: 'GSO task acme__calc-5d6e7f8: make `calc.total` faster in acme/calc. The visible \
workload
  is GSO''s prob_script. How it was imported: acme__calc-5d6e7f8/IMPORT_NOTES.md.'
repo: https://github.com/acme/calc
ref: 5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80^
python: python3.9
setup: []
build:
- python -m pip install -e .
workload:
  kind: gso
  file: acme__calc-5d6e7f8/workload.py
  repeat: 1
  timing:
    gc: false
hidden_workloads: []
tests: []
expert:
  patch: acme__calc-5d6e7f8/expert.diff
"""

GSO_FALLBACK_NOTES = f"""\
# acme__calc-5d6e7f8: import notes

Imported by `perfagent tasks import gso` from {GSO_FILE} (gso.jsonl:line 2).

## Caveats

- `workload.py` downloads data (requests.get): perfagent runs workloads without network \
(`unshare -n`), so it fails unless that data is already where the script looks for it.
- {BUILD_CAVEAT}{OFFLINE_BUILD}

## Translated

- prob_script → the visible workload `acme__calc-5d6e7f8/workload.py` (kind gso, repeat 1: one \
timed value per fresh process, setup() before each experiment() as GSO's timeit with number=1, \
the collector off as in timeit; a value holds as many experiments as last ≥ 100 ms, after a \
discarded warm-up, when one is shorter).
- tests[0] is prob_script itself: no hidden workloads.
- gt_diff → the expert patch `acme__calc-5d6e7f8/expert.diff` (no opt_commit).
- install_commands (GSO reruns them after every patch): those that need the network (installs \
from an index, downloads) run once in setup (0), the others in build, in every variant tree \
without network (1).
- install_commands: `uv pip install -e .` → `python -m pip install -e .` (uv pip → python -m pip).
- correctness: check_equivalence in every workload; no test commands.

## Left out

- install_commands: `uv venv --python 3.9`: perfagent creates the task's venv (its --python 3.9 \
becomes `python: python3.9`).
- install_commands: `source .venv/bin/activate`: perfagent runs every command in the task's venv.
- `created_at`, `arch`, `instance_image_tag`: not used.
"""

GSO_SKIPPED = [
    ("gso.jsonl:line 3", "acme__calc-missing-base", "missing field 'base_commit'"),
    (
        "gso.jsonl:line 4",
        "acme__calc-no-check",
        "prob_script defines no check_equivalence() function",
    ),
    ("gso.jsonl:line 5", None, "not valid JSON (Expecting value at column 49)"),
]


def test_gso_rows_become_tasks_and_malformed_rows_are_skipped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = import_tasks("gso", GSO_FILE, out)

    assert [(t.id, t.task, t.row, t.not_translated) for t in result.imported] == [
        ("acme__calc-1a2b3c4", "acme__calc-1a2b3c4.yaml", "gso.jsonl:line 1", 4),
        ("acme__calc-5d6e7f8", "acme__calc-5d6e7f8.yaml", "gso.jsonl:line 2", 0),
    ]
    assert [(s.row, s.id, s.reason) for s in result.skipped] == GSO_SKIPPED
    assert (out / "acme__calc-1a2b3c4.yaml").read_text() == GSO_YAML
    assert (out / "acme__calc-1a2b3c4" / "IMPORT_NOTES.md").read_text() == GSO_NOTES
    row = gso_rows()[0]
    side = out / "acme__calc-1a2b3c4"
    assert sorted(p.name for p in side.iterdir()) == [
        "IMPORT_NOTES.md",
        "gso_test_1.py",
        "workload.py",
    ]
    assert (side / "workload.py").read_text() == row["prob_script"]
    assert (side / "gso_test_1.py").read_text() == row["tests"][1]
    assert sorted(p.name for p in out.iterdir()) == [
        "acme__calc-1a2b3c4",
        "acme__calc-1a2b3c4.yaml",
        "acme__calc-5d6e7f8",
        "acme__calc-5d6e7f8.yaml",
        "index.json",
    ]
    task = load_task(out / "acme__calc-1a2b3c4.yaml")
    assert task.repo_is_url
    assert task.resolve_file(task.spec.workload.file or "", None, "workload") == (
        side / "workload.py"
    )
    assert json.loads((out / "index.json").read_text()) == {
        "format": "gso",
        "source": str(GSO_FILE),
        "out": str(out),
        "imported": [
            {
                "id": "acme__calc-1a2b3c4",
                "task": "acme__calc-1a2b3c4.yaml",
                "row": "gso.jsonl:line 1",
                "not_translated": 4,
            },
            {
                "id": "acme__calc-5d6e7f8",
                "task": "acme__calc-5d6e7f8.yaml",
                "row": "gso.jsonl:line 2",
                "not_translated": 0,
            },
        ],
        "skipped": [{"row": r, "id": i, "reason": why} for r, i, why in GSO_SKIPPED],
    }


def test_gso_tests_as_a_json_string_and_gt_diff_as_the_expert(tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_tasks("gso", GSO_FILE, out)
    row = gso_rows()[1]
    assert isinstance(row["tests"], str)  # a JSON list in a string
    assert (out / "acme__calc-5d6e7f8.yaml").read_text() == GSO_FALLBACK_YAML
    side = out / "acme__calc-5d6e7f8"
    assert (side / "IMPORT_NOTES.md").read_text() == GSO_FALLBACK_NOTES
    assert (side / "expert.diff").read_text() == row["gt_diff"]
    load_task(out / "acme__calc-5d6e7f8.yaml")


def test_gso_parquet_gives_the_same_tasks(tmp_path: Path) -> None:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    rows = gso_rows()
    rows[1]["tests"] = json.loads(rows[1]["tests"])  # parquet's column is list<string>
    source = tmp_path / "data" / "test-00000-of-00001.parquet"
    source.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), source)
    assert pq.read_schema(source).field("tests").type == pa.list_(pa.string())

    result = import_tasks("gso", tmp_path / "data", tmp_path / "out")
    assert [(t.id, t.row) for t in result.imported] == [
        ("acme__calc-1a2b3c4", "test-00000-of-00001.parquet:row 1"),
        ("acme__calc-5d6e7f8", "test-00000-of-00001.parquet:row 2"),
    ]
    assert result.skipped == []
    out = tmp_path / "out"
    assert (out / "acme__calc-1a2b3c4.yaml").read_text() == GSO_YAML
    assert (out / "acme__calc-5d6e7f8.yaml").read_text() == GSO_FALLBACK_YAML
    assert (out / "acme__calc-1a2b3c4" / "gso_test_1.py").read_text() == rows[0]["tests"][1]


def _calc_repo(path: Path) -> tuple[str, str]:
    """A git repo with a slow calc.py (base) and a fast one (the expert commit)."""
    repo = git.Repo.init(path)
    with repo.config_writer() as config:
        config.set_value("user", "name", "t")
        config.set_value("user", "email", "t@example.org")
    (path / "calc.py").write_text((FIXTURES / "calc_slow.py").read_text())
    repo.index.add(["calc.py"])
    base = repo.index.commit("base").hexsha
    (path / "calc.py").write_text((FIXTURES / "calc_fast.py").read_text())
    repo.index.add(["calc.py"])
    return base, repo.index.commit("linear").hexsha


@pytest.mark.slow
@pytest.mark.usefixtures("no_leftovers")
def test_an_imported_gso_task_measures_through_the_gso_driver(tmp_path: Path) -> None:
    base, opt = _calc_repo(tmp_path / "calc")
    row = gso_rows()[0] | {
        "repo": f"file://{tmp_path / 'calc'}",
        "base_commit": base,
        "opt_commit": opt,
        "setup_commands": [],
        "install_commands": [],
    }
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    result = import_tasks("gso", tmp_path / "rows.jsonl", tmp_path / "out")
    assert [t.not_translated for t in result.imported] == [0]

    report = measure(
        load_task(tmp_path / "out" / "acme__calc-1a2b3c4.yaml"),
        MeasureOptions(expert=True, session=QUICK),
    )
    assert [(w.name, w.kind, w.hidden) for w in report.workloads] == [
        ("workload", "gso", False),
        ("gso_test_1", "gso", True),
    ]
    assert report.expert_verdict == "faster"
    assert [w.variants["expert"].equivalence_detail for w in report.workloads] == [
        "checks passed",
        "checks passed",
    ]


# -- SWE-Perf -------------------------------------------------------------------------------------
SWE_PERF_FILE = FIXTURES / "swe-perf.json"
SWE_PERF_YAML = """\
id: acme__calc-101
description: 'SWE-Perf task acme__calc-101: make 2 efficiency test(s) of acme/calc faster \
(pytest call
  durations). 1 step(s) could not be translated: see acme__calc-101/IMPORT_NOTES.md.'
repo: https://github.com/acme/calc
ref: aa11bb22cc33dd44ee55ff6677889900aabbccdd
setup: []
build: []
workload:
  kind: pytest
  tests:
  - tests/test_calc.py::test_big
  - tests/test_calc.py::test_sizes[3000]
hidden_workloads: []
tests:
- python -m pytest -q -p no:cacheprovider tests/test_calc.py::test_big \
'tests/test_calc.py::test_sizes[3000]'
expert:
  patch: acme__calc-101/expert.diff
reference:
  source: SWE-Perf
  base_s: 0.8
  expert_s: 0.3
  note: median of 3 SWE-Perf runs of the efficiency tests (summed call durations); SWE-Perf's \
human_performance
    0.61
"""
SWE_PERF_NOTES = f"""\
# acme__calc-101: import notes

Imported by `perfagent tasks import swe-perf` from {SWE_PERF_FILE} (swe-perf.json:item 1).

## Not translated: do these yourself

- environment: SWE-Perf runs acme/calc 1.2 in a conda env built from SWE-bench's install spec \
for that version, which the dataset does not carry: setup and build are empty; add the \
dependency install (setup) and, for compiled code, an in-place build (build).

## Translated

- efficiency_test → a pytest workload timing 2 test(s) (call durations, summed) and the test \
command `python -m pytest -q -p no:cacheprovider tests/test_calc.py::test_big \
'tests/test_calc.py::test_sizes[3000]'` (SWE-Perf requires them to pass).
- patch → the expert patch `acme__calc-101/expert.diff`.
- duration_changes: SWE-Perf measured 0.800 s on base and 0.300 s with the PR over the \
efficiency tests (2.67×), median of 3 runs; perfagent measures again on this machine (the task's \
`reference`).

## Left out

- `test_patch`: not applied (SWE-Perf times the efficiency tests as they are at base_commit).
- `problem_statement_oracle`, `problem_statement_realistic`, `patch_functions`, \
`test_functions`, `created_at`: not used (prompts of SWE-Perf's own \
settings; the expert's functions, not given as targets).
"""


def test_swe_perf_rows_become_pytest_tasks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = import_tasks("swe-perf", SWE_PERF_FILE, out)
    assert [t.id for t in result.imported] == ["acme__calc-101"]
    assert [(s.row, s.id, s.reason) for s in result.skipped] == [
        (
            "swe-perf.json:item 2",
            "acme__calc-102",
            "field 'efficiency_test' is not a valid JSON list (Expecting ',' delimiter)",
        ),
        ("swe-perf.json:item 3", "acme__calc-103", "field 'patch' is not a unified diff"),
    ]
    assert (out / "acme__calc-101.yaml").read_text() == SWE_PERF_YAML
    assert (out / "acme__calc-101" / "IMPORT_NOTES.md").read_text() == SWE_PERF_NOTES
    row = json.loads(SWE_PERF_FILE.read_text())[0]
    assert (out / "acme__calc-101" / "expert.diff").read_text() == row["patch"]
    task = load_task(out / "acme__calc-101.yaml")
    assert task.spec.workload.tests == row["efficiency_test"]


# -- timeit scripts -------------------------------------------------------------------------------
TIMEIT_DIR = FIXTURES / "timeit"
TIMEIT_YAML = """\
id: acme__calc-7
description: 'acme/calc at cc33dd44ee55ff6677889900aabbccddeeff0011: make the timeit \
script''s workload()
  faster. How it was imported: acme__calc-7/IMPORT_NOTES.md.'
repo: https://github.com/acme/calc
ref: cc33dd44ee55ff6677889900aabbccddeeff0011
setup: []
build:
- python -m pip install -e . --no-build-isolation
workload:
  kind: python
  file: acme__calc-7/workload.py
  timing:
    number: 1
    setup: each
    gc: false
    repeat_hint: 10
hidden_workloads: []
tests:
- python -m pytest -rA -p no:cacheprovider tests/test_calc.py 'tests/test_sizes.py::test_sizes[big]'
expert:
  patch: acme__calc-7/expert.diff
"""
TIMEIT_WORKLOAD = """\
# perfagent: the module-level timeit harness (lines 14-17) was removed; perfagent
# times workload() itself as the task's workload.timing says.
import timeit
import statistics

import calc

def setup():
    global sizes
    sizes = [1000, 2000, 3000]

def workload():
    global sizes
    return [calc.total(n) for n in sizes]

"""
TIMEIT_NOTES = f"""\
# acme__calc-7: import notes

Imported by `perfagent tasks import timeit-script` from {TIMEIT_DIR} (collection.csv:row 1).

## Caveats

- {BUILD_CAVEAT}

## Translated

- the script → the visible workload `acme__calc-7/workload.py` (kind python): its module-level \
timeit harness (lines 14-17) was removed; number 1 (workload() calls per setup); setup() before \
every `number` calls, as timeit's setup=setup; garbage collector off during timed calls; the \
script's repeat=10 kept as a hint.
- each fresh process takes warm-up values (discarded) and then values of as many `number`-call \
units as last ≥ 100 ms (calibrated once on base), as pyperf does; perfagent compares per-call \
times across processes.
- the patch → the expert patch `acme__calc-7/expert.diff`.
- the covering tests → the test command `python -m pytest -rA -p no:cacheprovider \
tests/test_calc.py 'tests/test_sizes.py::test_sizes[big]'`.
- rebuild_cmd: `uv pip install -e . --no-build-isolation` → `python -m pip install -e . \
--no-build-isolation` (uv pip → python -m pip).
"""
DERIVED_NOTES = f"""\
# acme__calc-dd44ee5: import notes

Imported by `perfagent tasks import timeit-script` from {TIMEIT_DIR} (collection.csv:row 2).

## Caveats

- no instance_id: the id 'acme__calc-dd44ee5' is made from repo and base commit.
- workload() returns nothing, so the output perfagent compares is always None.
- PR https://github.com/acme/calc/pull/42 comes without its commit or patch (the repository is \
not a local clone; importers fetch nothing): the task has no expert (add `expert: {{commit: \
<sha>}}` once known).
- no covering tests: the task has no test commands.

## Translated

- the script → the visible workload `acme__calc-dd44ee5/workload.py` (kind python), as given (no \
timeit call: perfagent's own timing, setup() before every timed call).
"""


def test_timeit_scripts_from_a_directory_of_csv_and_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = import_tasks("timeit-script", TIMEIT_DIR, out)
    assert [(t.id, t.row) for t in result.imported] == [
        ("acme__calc-7", "collection.csv:row 1"),
        ("acme__calc-dd44ee5", "collection.csv:row 2"),
        ("acme__calc-8", "more.jsonl:line 1"),
    ]
    assert [(s.row, s.id, s.reason) for s in result.skipped] == [
        (
            "collection.csv:row 3",
            "acme__calc-9",
            "the workload script defines no workload() function",
        )
    ]
    assert (out / "acme__calc-7.yaml").read_text() == TIMEIT_YAML
    assert (out / "acme__calc-7" / "workload.py").read_text() == TIMEIT_WORKLOAD
    assert (out / "acme__calc-7" / "IMPORT_NOTES.md").read_text() == TIMEIT_NOTES
    assert (out / "acme__calc-dd44ee5" / "IMPORT_NOTES.md").read_text() == DERIVED_NOTES
    derived = load_task(out / "acme__calc-dd44ee5.yaml").spec
    assert (derived.expert, derived.tests, derived.ref) == (
        None,
        [],
        "dd44ee55ff6677889900aabbccddeeff00112233",
    )
    from_url = load_task(out / "acme__calc-8.yaml").spec
    assert from_url.expert is not None
    assert from_url.expert.commit == "0123456789abcdef0123456789abcdef01234567"
    assert from_url.tests == ["python -m pytest -q -p no:cacheprovider tests/test_calc.py"]


@pytest.mark.slow
@pytest.mark.usefixtures("no_leftovers")
def test_an_imported_timeit_task_measures_without_its_harness(tmp_path: Path) -> None:
    base, opt = _calc_repo(tmp_path / "calc")
    row = json.loads((TIMEIT_DIR / "more.jsonl").read_text())
    row |= {"repo": f"file://{tmp_path / 'calc'}", "base_commit": base, "commit": opt}
    row.pop("covering_tests")
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    import_tasks("timeit-script", tmp_path / "rows.jsonl", tmp_path / "out")
    report = measure(
        load_task(tmp_path / "out" / "acme__calc-8.yaml"),
        MeasureOptions(expert=True, session=QUICK),
    )
    assert report.expert_verdict == "faster"
    assert report.workloads[0].variants["expert"].equivalent is True


# -- commands -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("commands", "mode", "setup", "build", "notes"),
    [
        (
            ["uv pip install --system --prerelease=allow --no-cache -U 'pandas>=2' -r req.txt"],
            "install",
            ["python -m pip install --pre --no-cache-dir -U 'pandas>=2' -r req.txt"],
            [],
            [
                Note(
                    "translated",
                    "f: `uv pip install --system --prerelease=allow --no-cache -U 'pandas>=2' -r "
                    "req.txt` → `python -m pip install --pre --no-cache-dir -U 'pandas>=2' -r "
                    "req.txt` (uv pip → python -m pip; uv-only --system dropped).",
                )
            ],
        ),
        (
            ["cd /testbed && CC='cc -mavx2' uv pip install . ; make -j4"],
            "install",
            [],
            ["CC='cc -mavx2' python -m pip install . ; make -j4"],
            [
                Note("left-out", "f: `cd /testbed`: commands run in the variant's tree."),
                Note(
                    "translated",
                    "f: `cd /testbed && CC='cc -mavx2' uv pip install . ; make -j4` → "
                    "`CC='cc -mavx2' python -m pip install . ; make -j4` (uv pip → python -m pip).",
                ),
            ],
        ),
        (
            ["export HF_TOKEN=abc", "echo 'a && b'; pip install -e .", "uv run python setup.py x"],
            "build",
            [],
            ["pip install -e .", "python setup.py x"],
            [
                Note(
                    "left-out", "f: `export HF_TOKEN=abc`: a credential: not carried into the task."
                ),
                Note("left-out", "f: `echo 'a && b'`: informational only."),
                Note("translated", "f: `echo 'a && b'; pip install -e .` → `pip install -e .`."),
                Note(
                    "translated",
                    "f: `uv run python setup.py x` → `python setup.py x` (uv run dropped).",
                ),
            ],
        ),
        (
            ["conda activate testbed", "mamba install -y numpy", "docker pull x", "uv sync"],
            "setup",
            [],
            [],
            [
                Note(
                    "left-out",
                    "f: `conda activate testbed`: perfagent runs every command in the task's venv.",
                ),
                Note(
                    "refused",
                    "f: `mamba install -y numpy`: conda-only: install the equivalent with pip in "
                    "setup, or on this machine.",
                ),
                Note("refused", "f: `docker pull x`: Docker-only step."),
                Note("refused", "f: `uv sync`: a uv project command with no pip equivalent."),
            ],
        ),
        (
            ["curl https://sh.rustup.rs -sSf | sh -s -- -y", "wget -q https://x.org/d.tgz"],
            "install",
            ["wget -q https://x.org/d.tgz"],
            [],
            [
                Note(
                    "refused",
                    "f: `curl https://sh.rustup.rs -sSf | sh -s -- -y`: installs a toolchain "
                    "outside the venv: install it first.",
                )
            ],
        ),
    ],
)
def test_commands_are_translated_for_a_venv(
    commands: list[str], mode: Any, setup: list[str], build: list[str], notes: list[Note]
) -> None:
    result = translate(commands, field="f", mode=mode)
    assert (result.setup, result.build, result.notes) == (setup, build, notes)


def test_uv_venv_sets_the_python() -> None:
    result = translate(["uv venv -p 3.10 .venv"], field="f", mode="install")
    assert (result.python, result.setup, result.build) == ("python3.10", [], [])


# -- timeit harness -------------------------------------------------------------------------------
def test_timeit_harness_forms_are_stripped() -> None:
    source = (
        "from timeit import repeat as rep\n"
        "import calc\n"
        "def workload():\n"
        "    return calc.total(9)\n"
        "warm = workload()\n"
        "times = rep(workload,\n"
        "            number=10, repeat=3)\n"
        "best = min(times)\n"
        "print(best)\n"
        "if __name__ == '__main__':\n"
        "    print(rep(workload))\n"
    )
    body, harness = strip_timeit_harness(source, parse(source, "s"))
    assert body == (
        "from timeit import repeat as rep\n"
        "import calc\n"
        "def workload():\n"
        "    return calc.total(9)\n"
        "warm = workload()\n"
        "if __name__ == '__main__':\n"
        "    print(rep(workload))\n"
    )
    assert (harness.lines, harness.number, harness.passes_setup) == ([(6, 9)], 10, False)
    assert describe_lines([(3, 3), (6, 9)]) == "line 3, lines 6-9"


# -- CLI, sources, re-imports -------------------------------------------------------------------
def test_cli_prints_the_summary_and_exits_by_outcome(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    done = runner.invoke(tasks_group, ["import", "gso", str(GSO_FILE), "--out", str(out)])
    assert done.exit_code == 0
    assert done.output == (
        f"imported 2, skipped 3 into {out}\n"
        "  acme__calc-1a2b3c4.yaml  (4 step(s) not translated: see "
        "acme__calc-1a2b3c4/IMPORT_NOTES.md)\n"
        "  acme__calc-5d6e7f8.yaml\n"
        "skipped acme__calc-missing-base: missing field 'base_commit'\n"
        "skipped acme__calc-no-check: prob_script defines no check_equivalence() function\n"
        "skipped gso.jsonl:line 5: not valid JSON (Expecting value at column 49)\n"
    )
    as_json = runner.invoke(
        tasks_group, ["import", "gso", str(GSO_FILE), "--out", str(out), "--json"]
    )
    assert as_json.exit_code == 0
    assert json.loads(as_json.output) == json.loads((out / "index.json").read_text())

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instance_id": "x"}\n[1, 2]\n')
    none = runner.invoke(tasks_group, ["import", "swe-perf", str(bad), "--out", str(out)])
    assert none.exit_code == 1
    assert none.output == (
        f"imported 0, skipped 2 into {out}\n"
        "skipped x: missing field 'repo'\n"
        "skipped bad.jsonl:line 2: not an object but list\n"
    )


def test_unreadable_sources_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "broken.json").write_text("[{")
    (tmp_path / "blank.jsonl").write_text("\n")
    cases = {
        tmp_path / "missing.jsonl": f"{tmp_path / 'missing.jsonl'}: no such file or directory",
        tmp_path / "empty": f"{tmp_path / 'empty'}: no .json, .jsonl, .csv, .parquet files in "
        "this directory",
        tmp_path / "notes.txt": f"{tmp_path / 'notes.txt'}: not a .json, .jsonl, .csv, .parquet "
        "file",
        tmp_path / "broken.json": f"{tmp_path / 'broken.json'}: not valid JSON (line 1: Expecting "
        "property name enclosed in double quotes)",
        tmp_path / "blank.jsonl": f"{tmp_path / 'blank.jsonl'}: holds no rows",
    }
    for source, message in cases.items():
        with pytest.raises(TaskImportError) as info:
            import_tasks("gso", source, tmp_path / "out")
        assert str(info.value) == message
    with pytest.raises(TaskImportError) as info:
        import_tasks("sweperf", GSO_FILE, tmp_path / "out")
    assert str(info.value) == "unknown format 'sweperf' (known: gso, swe-perf, timeit-script)"


def test_reimport_replaces_its_own_files_but_leaves_others_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_tasks("swe-perf", SWE_PERF_FILE, out)
    stale = out / "acme__calc-101" / "stale.py"
    stale.write_text("left from an older import")
    again = import_tasks("swe-perf", SWE_PERF_FILE, out)
    assert [t.id for t in again.imported] == ["acme__calc-101"]
    assert not stale.exists()
    assert (out / "acme__calc-101.yaml").read_text() == SWE_PERF_YAML

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "acme__calc-101.yaml").write_text("id: hand-written\n")
    result = import_tasks("swe-perf", SWE_PERF_FILE, mine)
    assert result.imported == []
    assert result.skipped[0].reason == (
        f"acme__calc-101.yaml or acme__calc-101/ already exists in {mine} and was not written "
        "by an import: left alone"
    )
    assert (mine / "acme__calc-101.yaml").read_text() == "id: hand-written\n"


def test_row_level_problems_name_the_field(tmp_path: Path) -> None:
    row = json.loads(SWE_PERF_FILE.read_text())[0]
    rows = [
        row | {"instance_id": "acme calc/101"},  # becomes acme-calc-101
        row | {"instance_id": "acme-calc-101"},  # the same id again
        row | {"instance_id": "r3", "repo": "not a repo"},
        row | {"instance_id": "r4", "base_commit": "--force"},
        row | {"instance_id": "r5", "efficiency_test": {"a": 1}},
        row | {"instance_id": "r6", "repo": ["acme/calc"]},
        row | {"instance_id": "r7", "patch": None, "efficiency_test": "t.py::a\nt.py::b"},
    ]
    source = tmp_path / "rows.json"
    source.write_text(json.dumps({"test": rows}))
    result = import_tasks("swe-perf", source, tmp_path / "out")
    assert [t.id for t in result.imported] == ["acme-calc-101", "r7"]
    assert [(s.id, s.reason) for s in result.skipped] == [
        ("acme-calc-101", "duplicate id 'acme-calc-101' (first at rows.json:item 1)"),
        ("r3", "field 'repo': 'not a repo' is neither owner/name nor a git URL"),
        ("r4", "field 'base_commit': '--force' is not a commit"),
        ("r5", "field 'efficiency_test' must be a list, not dict"),
        ("r6", "field 'repo' must be text, not list"),
    ]
    notes = (tmp_path / "out" / "acme-calc-101" / "IMPORT_NOTES.md").read_text()
    assert "- instance id 'acme calc/101' is written as 'acme-calc-101'.\n" in notes
    r7 = load_task(tmp_path / "out" / "r7.yaml").spec
    assert (r7.expert, r7.workload.tests) == (None, ["t.py::a", "t.py::b"])


def test_json_files_in_the_shapes_datasets_writes(tmp_path: Path) -> None:
    """``Dataset.to_json`` writes one object per line even into a ``.json`` file; a single
    object is one instance."""
    rows = json.loads(SWE_PERF_FILE.read_text())
    lines = tmp_path / "lines" / "test.json"
    lines.parent.mkdir()
    lines.write_text(
        "".join(
            json.dumps(row | {"instance_id": f"r{i}"}) + "\n" for i, row in enumerate(rows[:1] * 2)
        )
    )
    single = tmp_path / "single.json"
    single.write_text(json.dumps(rows[0]))
    by_lines = import_tasks("swe-perf", lines, tmp_path / "a")
    assert [(t.id, t.row) for t in by_lines.imported] == [
        ("r0", "test.json:line 1"),
        ("r1", "test.json:line 2"),
    ]
    one = import_tasks("swe-perf", single, tmp_path / "b")
    assert [(t.id, t.row) for t in one.imported] == [("acme__calc-101", "single.json:item 1")]
