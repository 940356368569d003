from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from perfagent.tools.edit.paths import is_protected, protected_patterns
from perfagent.tools.errors import TaskSpecError
from perfagent.tools.taskspec import load_task

BASE = {
    "id": "demo",
    "repo": "proj",
    "workload": {"kind": "python", "file": "w.py"},
}


def write(tmp_path: Path, spec: object) -> Path:
    (tmp_path / "proj").mkdir(exist_ok=True)
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_valid_spec_gets_defaults(tmp_path: Path) -> None:
    task = load_task(write(tmp_path, BASE))
    assert task.id == "demo"
    assert task.spec.ref == "HEAD"
    assert task.spec.workload.repeat == 5
    assert task.spec.limits.timeout_s == 600
    assert task.repo_location() == (tmp_path / "proj").resolve()
    assert task.workloads() == [task.spec.workload]


def test_protected_paths_join_the_tests_and_workload_files(tmp_path: Path) -> None:
    task = load_task(write(tmp_path, {**BASE, "protected": ["./bench/**"]}))
    patterns = protected_patterns(task)
    assert "bench/**" in patterns and "w.py" in patterns and "tests/**" in patterns
    assert is_protected("bench/suite.py", patterns)
    assert not is_protected("proj/core.py", patterns)


def test_unknown_field_is_named(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError) as info:
        load_task(write(tmp_path, {**BASE, "colour": "red"}))
    message = str(info.value)
    assert message == f"{tmp_path / 'task.yaml'}: invalid task spec: colour: unknown field"
    assert "\n" not in message


def test_nested_unknown_field_and_bad_kind(tmp_path: Path) -> None:
    spec = {**BASE, "workload": {"kind": "rust", "file": "w.py", "reps": 3}}
    with pytest.raises(TaskSpecError) as info:
        load_task(write(tmp_path, spec))
    assert "workload.kind: Input should be 'python', 'command', 'pytest' or 'gso'" in str(
        info.value
    )
    assert "workload.reps: unknown field" in str(info.value)


def test_missing_required_field(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError, match="repo: required field missing"):
        load_task(write(tmp_path, {"id": "x", "workload": BASE["workload"]}))


def test_kind_needs_its_field(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError, match="workload of kind 'command' needs 'command'"):
        load_task(write(tmp_path, {**BASE, "workload": {"kind": "command"}}))


def test_expert_needs_exactly_one(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError, match="expert needs exactly one of"):
        load_task(write(tmp_path, {**BASE, "expert": {"commit": "abc", "patch": "x.diff"}}))


def test_repo_that_does_not_exist(tmp_path: Path) -> None:
    path = write(tmp_path, {**BASE, "repo": "nowhere"})
    with pytest.raises(TaskSpecError) as info:
        load_task(path)
    assert str(info.value) == f"{path}: repo: folder {tmp_path / 'nowhere'} does not exist"


def test_git_url_is_kept(tmp_path: Path) -> None:
    task = load_task(write(tmp_path, {**BASE, "repo": "https://example.invalid/r.git"}))
    assert task.repo_location() == "https://example.invalid/r.git"


def test_not_yaml_and_not_mapping(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("id: [unclosed\n")
    with pytest.raises(TaskSpecError, match="not valid YAML at line"):
        load_task(path)
    path.write_text("- a\n- b\n")
    with pytest.raises(TaskSpecError, match="must be a YAML mapping"):
        load_task(path)
    with pytest.raises(TaskSpecError, match="task file not found"):
        load_task(tmp_path / "absent.yaml")


def test_resolve_file_prefers_task_dir_then_repo(tmp_path: Path) -> None:
    task = load_task(write(tmp_path, BASE))
    repo = tmp_path / "proj"
    (repo / "bench").mkdir()
    (repo / "bench" / "w.py").write_text("")
    assert task.resolve_file("bench/w.py", repo, "workload.file") == repo / "bench" / "w.py"
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "w.py").write_text("")
    assert task.resolve_file("bench/w.py", repo, "workload.file") == tmp_path / "bench" / "w.py"
    with pytest.raises(TaskSpecError, match=r"workload\.file: file 'nope\.py' not found"):
        task.resolve_file("nope.py", repo, "workload.file")


@pytest.mark.parametrize(
    "example",
    sorted((Path(__file__).parents[1] / "tasks" / "examples").glob("*.yaml")),
    ids=lambda p: p.stem,
)
def test_bundled_examples_are_valid(example: Path) -> None:
    task = load_task(example)
    assert task.spec.expert is not None
    assert task.spec.hidden_workloads
    assert task.spec.tests
