"""How perfagent installs and starts: light `--help`, one-line messages for a missing extra
or an unsupported OS, and the distribution's metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfagent.agent.cli import COMMANDS, main
from perfagent.agent.cli.propose import RULES_TOP
from perfagent.agent.cli.tasks import FORMATS
from perfagent.tools.extras import MissingExtraError, require

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("langgraph", "numpy", "scipy", "openai", "anthropic", "githubkit", "libcst",
         "fastapi", "uvicorn", "distributed", "pyarrow", "git", "rich")  # fmt: skip


def loaded_after(*args: str, hide: tuple[str, ...] = ()) -> tuple[int, set[str], str]:
    """Run ``perfagent ARGS`` in a fresh interpreter (``hide``: top-level packages made
    unimportable, as if their extra were not installed); its exit code, the top-level
    modules it loaded, and its stderr."""
    code = textwrap.dedent(f"""
        import json, sys
        for name in {list(hide)!r}:
            sys.modules[name] = None  # the import system's own "not installed"
        from perfagent.agent.cli import main
        try:
            main({list(args)!r})
        except SystemExit as exc:
            status = exc.code or 0
        print(json.dumps([status, sorted({{m.split(".")[0] for m in sys.modules}})]))
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    status, modules = json.loads(done.stdout.strip().splitlines()[-1])
    return status, set(modules), done.stderr


@pytest.mark.parametrize("args", [("--help",), ("measure", "--help"), ("optimize", "--help")])
def test_help_loads_none_of_the_heavy_packages(args: tuple[str, ...]) -> None:
    status, modules, _ = loaded_after(*args)
    assert status == 0
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_help_lists_every_command_with_its_own_short_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name, (_module, _attribute, short) in COMMANDS.items():
        assert f"{name}  " in result.stdout and short in result.stdout
    for name in COMMANDS:
        sub = CliRunner().invoke(main, [name, "--help"])
        assert sub.exit_code == 0, sub.output
        assert "-q, --quiet" in sub.stdout or name in ("tasks", "app")  # groups: theirs do


def test_constants_kept_in_the_light_cli_modules_match_their_sources() -> None:
    from perfagent.agent.proposers import rules
    from perfagent.tools import tasksets

    assert rules.RULES_TOP == RULES_TOP
    assert sorted(tasksets.FORMATS) == sorted(FORMATS)


def test_a_missing_extra_is_one_line_naming_the_pip_command() -> None:
    status, _, stderr = loaded_after("app", "serve", hide=("fastapi",))
    assert status == 2
    assert stderr == (
        "perfagent: error: the GitHub App (perfagent app) needs the [app] extra "
        "(fastapi not installed): pip install 'perfagent[app]'\n"
    )


def test_parquet_rows_without_pyarrow_name_the_parquet_extra(tmp_path: Path) -> None:
    rows = tmp_path / "rows.parquet"
    rows.write_bytes(b"PAR1")
    status, _, stderr = loaded_after(
        "tasks", "import", "gso", str(rows), "--out", str(tmp_path / "out"), hide=("pyarrow",)
    )
    assert status == 2
    assert stderr == (
        f"perfagent: error: reading {rows} needs the [parquet] extra (pyarrow not installed): "
        "pip install 'perfagent[parquet]'\n"
    )


def test_require_names_each_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "distributed" else real(name, *a),
    )
    with pytest.raises(MissingExtraError) as raised:
        require("dask", "--engine dask")
    assert str(raised.value) == (
        "--engine dask needs the [dask] extra (distributed not installed): "
        "pip install 'perfagent[dask]'"
    )
    require("app", "the App")  # installed here: no error


@pytest.mark.parametrize("gone", [("pidfd_open",), ("waitid", "pidfd_open", "sched_getaffinity")])
def test_an_unsupported_os_is_one_line_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gone: tuple[str, ...]
) -> None:
    # What macOS looks like to the runner: another platform name and no pidfd/waitid/affinity.
    monkeypatch.setattr(sys, "platform", "darwin")
    for name in gone:
        monkeypatch.delattr(os, name)
    task = tmp_path / "task.yaml"
    task.write_text("id: x\n")
    result = CliRunner().invoke(main, ["measure", str(task), "--expert"])
    assert result.exit_code == 2
    missing = ", ".join(f"os.{name}" for name in gone)
    assert result.stderr == (
        f"perfagent: error: running workloads needs Linux; this is darwin (no {missing}): "
        "the commands that run them are unavailable here (report and tasks import work)\n"
    )
    # Help and the commands that run nothing still work there.
    assert CliRunner().invoke(main, ["measure", "--help"]).exit_code == 0
    report = CliRunner().invoke(main, ["report", str(tmp_path / "missing.traj.json")])
    assert "needs Linux" not in report.output


def test_the_distribution_says_what_it_is() -> None:
    meta = metadata.metadata("perfagent")
    assert meta["License-Expression"] == "MIT"
    classifiers = meta.get_all("Classifier") or []
    assert "Operating System :: POSIX :: Linux" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert meta["Requires-Python"] == ">=3.11"
    urls = meta.get_all("Project-URL") or []
    assert any(url.startswith("Repository, ") for url in urls)
    core = [r for r in metadata.requires("perfagent") or [] if "extra ==" not in r]
    names = {r.split(">")[0].split("[")[0].split("<")[0].split("=")[0].strip() for r in core}
    assert names.isdisjoint({"fastapi", "uvicorn", "githubkit", "distributed", "pyarrow"})
    assert {"app", "dask", "parquet", "dev"} <= set(meta.get_all("Provides-Extra") or [])
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
