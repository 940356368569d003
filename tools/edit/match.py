"""Finding a block of lines in a file, from strict to tolerant.

Strategies, in order; the first that finds anything decides (so a looser one can never
override an exact match):

1. ``exact`` — the lines as given;
2. ``trailing whitespace`` — ignoring whitespace at line ends;
3. ``indentation offset`` — the whole block shifted by one indentation prefix (the model
   dropped or added a level); the same shift is applied to the replacement;
4. ``tabs/spaces`` — the block indented with tabs where the file uses spaces (or the reverse),
   converted to the file's style, then 1–3 again;
5. ``whitespace-insensitive`` — non-blank lines equal once all whitespace is removed (a
   reformatted line, blank lines added or dropped); the replacement is re-based on the
   indentation of the first matched line.

Leading and trailing blank lines of the SEARCH text are ignored (and as many of the
replacement's), since models add them freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    """``file_lines[start:end]`` is to become ``replacement``. ``lines`` maps each search
    line to the file line it matched (``-1``: a blank line with no counterpart)."""

    start: int
    end: int
    replacement: tuple[str, ...]
    how: str
    lines: tuple[int, ...] = ()


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _squash(line: str) -> str:
    return "".join(line.split())


def trim_blank_ends(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """Drop blank lines around ``search`` and as many blank lines around ``replace``."""
    lead = 0
    while lead < len(search) and not search[lead].strip():
        lead += 1
    trail = 0
    while trail < len(search) - lead and not search[-1 - trail].strip():
        trail += 1
    r_lead = 0
    while r_lead < min(lead, len(replace)) and not replace[r_lead].strip():
        r_lead += 1
    r_trail = 0
    while r_trail < min(trail, len(replace) - r_lead) and not replace[-1 - r_trail].strip():
        r_trail += 1
    return search[lead : len(search) - trail], replace[r_lead : len(replace) - r_trail]


def rebase(lines: list[str], from_base: str, to_base: str) -> list[str]:
    """Re-indent ``lines`` written relative to ``from_base`` so they sit at ``to_base``."""
    if from_base == to_base:
        return list(lines)
    out = []
    for line in lines:
        ind = _indent(line)
        if not line.strip():
            out.append(line)
        elif ind.startswith(from_base):
            out.append(to_base + line[len(from_base) :])
        elif to_base.endswith(from_base):  # a line left of the base: shift it right too
            out.append(to_base[: len(to_base) - len(from_base)] + line)
        elif from_base.endswith(to_base):  # shift left as far as its indentation allows
            out.append(line[min(len(from_base) - len(to_base), len(ind)) :])
        else:
            out.append(line)
    return out


def _first_nonblank(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if line.strip())


def _equal_runs(
    file_keys: list[str], search_keys: list[str]
) -> list[int]:  # starts where the key lists agree
    n = len(search_keys)
    if n == 0 or n > len(file_keys):
        return []
    first = search_keys[0]
    return [
        i
        for i in range(len(file_keys) - n + 1)
        if file_keys[i] == first and file_keys[i : i + n] == search_keys
    ]


def _one_to_one(start: int, search: list[str], replace: list[str], how: str) -> Match:
    n = len(search)
    return Match(start, start + n, tuple(replace), how, tuple(range(start, start + n)))


def _exact(file_lines: list[str], search: list[str], replace: list[str]) -> list[Match]:
    starts = _equal_runs(file_lines, search)
    return [_one_to_one(i, search, replace, "exact") for i in starts]


def _rstripped(file_lines: list[str], search: list[str], replace: list[str]) -> list[Match]:
    starts = _equal_runs([ln.rstrip() for ln in file_lines], [ln.rstrip() for ln in search])
    return [_one_to_one(i, search, replace, "trailing whitespace") for i in starts]


def _offset(file_lines: list[str], search: list[str], replace: list[str]) -> list[Match]:
    n = len(search)
    j0 = _first_nonblank(search)
    key = search[j0].strip()
    from_base = _indent(search[j0])
    found = []
    for i in range(len(file_lines) - n + 1):
        anchor = file_lines[i + j0]
        if anchor.strip() != key:
            continue
        to_base = _indent(anchor)
        shifted = rebase(search, from_base, to_base)
        window = file_lines[i : i + n]
        if all(
            (not s.strip() and not f.strip()) or (s.strip() and s.rstrip() == f.rstrip())
            for s, f in zip(shifted, window, strict=True)
        ):
            replacement = rebase(replace, from_base, to_base)
            found.append(_one_to_one(i, search, replacement, "indentation offset"))
    return found


def _indent_style(lines: list[str]) -> tuple[str, int]:
    """``("tab", 1)`` or ``("space", unit)``, by majority of indented lines."""
    tabs = spaces = 0
    widths = []
    for line in lines:
        ind = _indent(line)
        if not line.strip() or not ind:
            continue
        if "\t" in ind:
            tabs += 1
        else:
            spaces += 1
            widths.append(len(ind))
    if tabs > spaces:
        return "tab", 1
    unit = min(widths) if widths else 4
    return "space", unit if 2 <= unit <= 8 else 4


def _convert_indent(lines: list[str], to_tabs: bool, unit: int) -> list[str]:
    out = []
    for line in lines:
        ind = _indent(line)
        if to_tabs:
            width = len(ind.expandtabs(unit))
            new = "\t" * (width // unit) + " " * (width % unit)
        else:
            new = ind.replace("\t", " " * unit)
        out.append(new + line[len(ind) :])
    return out


def _tabs_spaces(file_lines: list[str], search: list[str], replace: list[str]) -> list[Match]:
    file_style, file_unit = _indent_style(file_lines)
    edit_style, edit_unit = _indent_style(search + replace)
    if file_style == edit_style:
        return []
    to_tabs = file_style == "tab"
    unit = edit_unit if to_tabs else file_unit
    s2, r2 = _convert_indent(search, to_tabs, unit), _convert_indent(replace, to_tabs, unit)
    for strategy in (_exact, _rstripped, _offset):
        found = strategy(file_lines, s2, r2)
        if found:
            return [Match(m.start, m.end, m.replacement, "tabs/spaces", m.lines) for m in found]
    return []


def _ws_insensitive(file_lines: list[str], search: list[str], replace: list[str]) -> list[Match]:
    keys = [(j, _squash(s)) for j, s in enumerate(search) if s.strip()]
    file_nb = [i for i, f in enumerate(file_lines) if f.strip()]
    file_keys = [_squash(file_lines[i]) for i in file_nb]
    found = []
    for k in _equal_runs(file_keys, [key for _, key in keys]):
        start, end = file_nb[k], file_nb[k + len(keys) - 1] + 1
        from_base = _indent(search[keys[0][0]])
        to_base = _indent(file_lines[start])
        replacement = tuple(rebase(replace, from_base, to_base))
        where = dict(zip((j for j, _ in keys), file_nb[k : k + len(keys)], strict=True))
        lines = tuple(where.get(j, -1) for j in range(len(search)))
        found.append(Match(start, end, replacement, "whitespace-insensitive", lines))
    return found


Strategy = Callable[[list[str], list[str], list[str]], list[Match]]
STRATEGIES: tuple[Strategy, ...] = (_exact, _rstripped, _offset, _tabs_spaces, _ws_insensitive)


def find_matches(
    file_lines: list[str], search: list[str], replace: list[str], *, strict: bool = False
) -> list[Match]:
    """Every place ``search`` matches, by the strictest strategy that matches at all;
    ``strict`` stops before the tabs/spaces and whitespace-insensitive strategies.

    ``search`` must already be trimmed (``trim_blank_ends``) and hold a non-blank line.
    """
    for strategy in STRATEGIES[:3] if strict else STRATEGIES:
        found = strategy(file_lines, search, replace)
        if found:
            return found
    return []
