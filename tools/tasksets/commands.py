"""Translate a dataset's environment commands (written for GSO's uv-in-Docker images or
SWE-bench-style conda images) into a task's ``setup`` and ``build``.

perfagent runs each command with ``bash -c`` in a fresh shell, inside the task's venv (its
``bin`` first on PATH, with ``python`` and a ``pip`` shim), in the variant's tree; ``setup``
runs once in the base tree with network, ``build`` in every variant tree without. So:

- venv creation and activation are left out (perfagent does both);
- ``uv pip …`` becomes ``python -m pip …`` (uv-only options dropped or mapped);
- ``export NAME=value`` is carried into the commands after it (credentials are not);
- informational commands (``which``, ``--version``, ``pip show``…), ``git clone``,
  checkouts and ``git clean`` (it would delete the files a patch adds) are left out;
- root, apt, conda, Docker and toolchain installers cannot run in a venv: refused with a note;
- anything else is kept as written.

Each command is split at ``&&`` and ``;`` outside quotes and judged part by part. In
``install`` mode (GSO's ``install_commands``, rerun after every patch) a command that needs the
network (a package install from an index, a download) goes to ``setup``, the rest (building
the project, ``make``) to ``build``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from perfagent.tools.tasksets.model import Note, NoteKind

Mode = Literal["setup", "install", "build"]
Action = Literal["keep", "drop", "refuse", "export"]

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_CREDENTIAL = re.compile(r"TOKEN|SECRET|PASSWORD|API_KEY|ACCESS_KEY", re.IGNORECASE)
_INFO = {"which", "echo", "ls", "pwd", "env", "printenv", "nproc", "lscpu", "uname", "whoami"}
_ACTIVATE = "perfagent runs every command in the task's venv"
_ROOT_PACKAGES = "system packages need root: install them on this machine first"
_CONDA = "conda-only: install the equivalent with pip in setup, or on this machine"
# uv pip options pip lacks: dropped (with how many values they take) or renamed.
_UV_DROP = {"--reinstall": 0, "--system": 0, "--compile-bytecode": 0, "--no-progress": 0}
_UV_DROP |= {"--refresh": 0, "--strict": 0, "--python": 1, "-p": 1, "--index-strategy": 1}
_UV_DROP |= {"--link-mode": 1, "--reinstall-package": 1, "--refresh-package": 1}
_UV_DROP |= {"--resolution": 1, "--exclude-newer": 1}
_UV_RENAME = {"--no-cache": ["--no-cache-dir"], "--prerelease": ["--pre"]}
_PIP_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url"}
_PIP_VALUE_OPTIONS |= {"--extra-index-url", "-f", "--find-links", "-t", "--target", "-C"}
_PIP_VALUE_OPTIONS |= {"--config-settings", "--prefix", "--root", "--no-binary", "--only-binary"}


@dataclass
class Translation:
    setup: list[str] = field(default_factory=list)
    build: list[str] = field(default_factory=list)
    python: str | None = None  # from `uv venv --python X`
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class _Step:
    action: Action
    text: str = ""  # keep: the command to run; export: the part as written
    why: str = ""  # drop/refuse: the reason; keep: what was changed ("" if nothing)
    network: bool = False
    python: str | None = None


def translate(commands: Sequence[str], *, field: str, mode: Mode) -> Translation:
    out = Translation()
    exports: list[str] = []
    for command in commands:
        kept: list[tuple[str, str]] = []  # (separator before, text)
        changes: list[str] = []
        network = False
        own_exports: list[str] = []
        unused: list[tuple[NoteKind, str, str]] = []  # (kind, reason, part)
        for separator, part in split_command(command):
            step = _judge(part)
            out.python = step.python or out.python
            if step.action in ("drop", "refuse"):
                unused.append(("left-out" if step.action == "drop" else "refused", step.why, part))
                continue
            if step.action == "export":
                own_exports.append(step.text)
            network = network or step.network
            if step.why:
                changes.append(step.why)
            kept.append((separator if kept else "", step.text))
        if not kept and len({(kind, why) for kind, why, _ in unused}) == 1:
            unused = [(unused[0][0], unused[0][1], command)]  # one note for the whole command
        out.notes += [Note(kind, f"{field}: `{part}`: {why}.") for kind, why, part in unused]
        if len(own_exports) < len(kept):
            text = "".join(f" {sep} {t}" if sep else t for sep, t in kept)
            text = " && ".join([*exports, text])
            stage = "build" if mode == "build" or (mode == "install" and not network) else "setup"
            (out.setup if stage == "setup" else out.build).append(text)
            if text != command:
                why = f" ({'; '.join(changes)})" if changes else ""
                out.notes.append(Note("translated", f"{field}: `{command}` → `{text}`{why}."))
        for export in own_exports:
            exports.append(export)
            out.notes.append(
                Note("translated", f"{field}: `{export}` is carried into the commands after it.")
            )
    return out


def installs_local_project(command: str) -> bool:
    """Whether ``command`` pip-installs a local project (``pip install .``, ``-e .``...)."""
    for _, part in split_command(command):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        while words and _ASSIGNMENT.match(words[0]):
            words.pop(0)
        args = _pip_args(words) if words else None
        if args and args[0] == "install" and _installs_local(args[1:]):
            return True
    return False


def split_command(command: str) -> list[tuple[str, str]]:
    """``a && b; c`` → [("", "a"), ("&&", "b"), (";", "c")], ignoring quoted separators."""
    parts: list[tuple[str, str]] = []
    current: list[str] = []
    separator, quote, i = "", "", 0
    while i < len(command):
        char = command[i]
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                current.append(char)
                i += 1
                char = command[i] if i < len(command) else ""
        elif char in "'\"":
            quote = char
        elif command.startswith("&&", i) or char in ";\n":
            if "".join(current).strip():
                parts.append((separator, "".join(current).strip()))
            separator = "&&" if char == "&" else ";"
            current = []
            i += 2 if char == "&" else 1
            continue
        current.append(char)
        i += 1
    if "".join(current).strip():
        parts.append((separator, "".join(current).strip()))
    return parts


def _judge(part: str) -> _Step:
    try:
        words = shlex.split(part)
    except ValueError:
        return _Step("keep", part)
    prefix: list[str] = []
    while words and _ASSIGNMENT.match(words[0]):
        prefix.append(words.pop(0))
    if not words:
        return _Step("keep", part)
    head, rest = words[0], words[1:]
    if head == "export":
        if rest and _CREDENTIAL.search(" ".join(w.split("=", 1)[0] for w in rest)):
            return _Step("drop", why="a credential: not carried into the task")
        if rest and all(_ASSIGNMENT.match(word) for word in rest):
            return _Step("export", part)
        return _Step("drop", why="exports nothing new")
    if head == "sudo":
        inner = [w for w in rest if not w.startswith("-")][:1]
        if inner and inner[0] in ("apt", "apt-get", "yum", "dnf", "apk"):
            return _Step("refuse", why=_ROOT_PACKAGES)
        return _Step("refuse", why="needs root: run it on this machine yourself if needed")
    if head in ("apt", "apt-get", "yum", "dnf", "apk", "brew"):
        return _Step("refuse", why=_ROOT_PACKAGES)
    if head in ("conda", "mamba", "micromamba"):
        if rest[:1] in (["activate"], ["deactivate"]):
            return _Step("drop", why=_ACTIVATE)
        return _Step("refuse", why=_CONDA)
    if head in ("source", ".") and rest:
        if _basename(rest[0]) in ("activate", "deactivate") or rest[0] == "activate":
            return _Step("drop", why=_ACTIVATE)
        return _Step(
            "refuse",
            why="changes the shell environment, and perfagent runs each command in a fresh "
            "shell: make what it sets available on this machine",
        )
    if head in ("docker", "podman"):
        return _Step("refuse", why="Docker-only step")
    if head in ("curl", "wget"):
        return _download(part)
    if head in _INFO or (head.startswith("python") and rest in (["--version"], ["-V"])):
        return _Step("drop", why="informational only")
    if head == "cd" and rest[:1] and rest[0].startswith("/"):
        return _Step("drop", why="commands run in the variant's tree")
    if head == "git":
        return _git(part, rest)
    if head == "uv":
        return _uv(part, prefix, rest)
    pip = _pip_args(words)
    if pip is not None:
        return _pip(part, pip)
    return _Step("keep", part)


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _download(part: str) -> _Step:
    if "astral.sh/uv" in part:
        return _Step("drop", why="perfagent installs with pip; uv is not needed")
    if "rustup" in part or ("|" in part and re.search(r"\|\s*(ba)?sh\b", part)):
        return _Step("refuse", why="installs a toolchain outside the venv: install it first")
    return _Step("keep", part, network=True)


def _git(part: str, rest: list[str]) -> _Step:
    sub = rest[0] if rest else ""
    if sub == "clone":
        return _Step("drop", why="perfagent clones the repository itself")
    if sub in ("checkout", "reset", "fetch", "pull", "remote", "switch"):
        return _Step("drop", why="perfagent checks out the task's ref itself")
    if sub == "clean":
        return _Step(
            "drop",
            why="every variant tree starts clean, and it would delete the files a patch adds "
            "(GSO's own evaluation leaves it out too)",
        )
    if sub == "config":
        return _Step("drop", why="perfagent's own clone needs no git configuration")
    if sub in ("status", "log", "show", "diff", "rev-parse", "describe"):
        return _Step("drop", why="informational only")
    return _Step("keep", part, network=sub == "submodule")


def _uv(part: str, prefix: list[str], rest: list[str]) -> _Step:
    sub = rest[0] if rest else ""
    if sub == "venv":
        version = _option_value(rest[1:], ("--python", "-p"))
        python = None
        if version:
            python = f"python{version}" if re.fullmatch(r"\d+(\.\d+)*", version) else version
        why = "perfagent creates the task's venv"
        if python:
            why += f" (its --python {version} becomes `python: {python}`)"
        return _Step("drop", why=why, python=python)
    if sub == "pip" and len(rest) > 1:
        verb, args = rest[1], rest[2:]
        if verb in ("show", "list", "freeze", "check", "tree"):
            return _Step("drop", why="informational only")
        if verb == "install":
            kept, dropped = _pip_options_from_uv(args)
            words = ["python", "-m", "pip", "install", *kept]
            why = "uv pip → python -m pip"
            if dropped:
                why += f"; uv-only {', '.join(dropped)} dropped"
            text = _with_assignments(prefix, shlex.join(words))
            return _Step("keep", text, why, network=not _installs_local(kept))
        if verb == "uninstall":
            words = ["python", "-m", "pip", "uninstall", "-y"]
            words += [a for a in args if a not in ("-y", "--yes")]
            text = _with_assignments(prefix, shlex.join(words))
            return _Step("keep", text, "uv pip → python -m pip")
    if sub == "run" and len(rest) > 1 and not rest[1].startswith("-"):
        inner = _judge(shlex.join(rest[1:]))
        if inner.action == "keep":
            text = _with_assignments(prefix, inner.text)
            why = "; ".join(w for w in ("uv run dropped", inner.why) if w)
            return _Step("keep", text, why, network=inner.network)
        return inner
    return _Step("refuse", why="a uv project command with no pip equivalent")


def _with_assignments(assignments: list[str], command: str) -> str:
    """``NAME=value`` words (as shlex split them) back in front of ``command``, quoted so
    the shell still reads them as assignments."""
    quoted = [
        f"{name}={shlex.quote(value)}" for name, _, value in (a.partition("=") for a in assignments)
    ]
    return " ".join([*quoted, command])


def _pip_args(words: list[str]) -> list[str] | None:
    """The arguments after ``pip`` in ``pip …``, ``pip3 …`` or ``python[X] -m pip …``."""
    if words[0] in ("pip", "pip3"):
        return words[1:]
    if words[0].startswith("python") and words[1:3] == ["-m", "pip"]:
        return words[3:]
    return None


def _pip(part: str, args: list[str]) -> _Step:
    verb = args[0] if args else ""
    if verb in ("show", "list", "freeze", "check", "--version", "-V"):
        return _Step("drop", why="informational only")
    if verb == "install":
        return _Step("keep", part, network=not _installs_local(args[1:]))
    return _Step("keep", part)


def _pip_options_from_uv(args: list[str]) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(args):
        name, _, inline = args[i].partition("=")
        if name in _UV_DROP:
            dropped.append(name)
            i += 1 + (_UV_DROP[name] if not inline else 0)
            continue
        if name in _UV_RENAME:
            kept += _UV_RENAME[name]
            i += 1 + (1 if name == "--prerelease" and not inline else 0)
            continue
        kept.append(args[i])
        i += 1
    return kept, dropped


def _installs_local(args: list[str]) -> bool:
    """Whether pip install arguments name a local project (``.``, ``-e ./x``...)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-e", "--editable"):
            return i + 1 < len(args) and _is_local(args[i + 1])
        if arg in _PIP_VALUE_OPTIONS:
            i += 2
            continue
        if not arg.startswith("-") and _is_local(arg):
            return True
        i += 1
    return False


def _is_local(arg: str) -> bool:
    return arg in (".", "..") or arg.startswith(("./", "../", "/", "file:", ".["))


def _option_value(args: list[str], names: tuple[str, ...]) -> str | None:
    for i, arg in enumerate(args):
        name, eq, inline = arg.partition("=")
        if name in names:
            if eq:
                return inline
            return args[i + 1] if i + 1 < len(args) else None
    return None
