import pytest

from stencil import LexerError, Token, tokenize


def kinds_values(source: str) -> list[tuple[str, str]]:
    return [(t.kind, t.value) for t in tokenize(source)]


def test_plain_text_is_one_token() -> None:
    assert tokenize("just text\nwith { braces }") == [
        Token("text", "just text\nwith { braces }", 1, 1)
    ]


def test_empty_template() -> None:
    assert tokenize("") == []


def test_variable_tag() -> None:
    assert kinds_values("Hi {{ user.name|title }}!") == [
        ("text", "Hi "),
        ("var_begin", "{{"),
        ("name", "user"),
        ("operator", "."),
        ("name", "name"),
        ("operator", "|"),
        ("name", "title"),
        ("var_end", "}}"),
        ("text", "!"),
    ]


def test_block_tag_with_operators_and_literals() -> None:
    assert kinds_values("{%if n>=10 and s!='a\\'b' or x**2 == 1.5e3%}") == [
        ("block_begin", "{%"),
        ("name", "if"),
        ("name", "n"),
        ("operator", ">="),
        ("number", "10"),
        ("name", "and"),
        ("name", "s"),
        ("operator", "!="),
        ("string", "'a\\'b'"),
        ("name", "or"),
        ("name", "x"),
        ("operator", "**"),
        ("number", "2"),
        ("operator", "=="),
        ("number", "1.5e3"),
        ("block_end", "%}"),
    ]


def test_modulo_operator_before_block_end() -> None:
    assert kinds_values("{% set r = a % b %}")[-3:] == [
        ("operator", "%"),
        ("name", "b"),
        ("block_end", "%}"),
    ]


def test_line_and_column_numbers() -> None:
    tokens = tokenize('a\n  {{ x +\n   "two\nlines" }}\nend')
    assert tokens == [
        Token("text", "a\n  ", 1, 1),
        Token("var_begin", "{{", 2, 3),
        Token("name", "x", 2, 6),
        Token("operator", "+", 2, 8),
        Token("string", '"two\nlines"', 3, 4),
        Token("var_end", "}}", 4, 8),
        Token("text", "\nend", 4, 10),
    ]


def test_comments_are_dropped_but_counted_for_positions() -> None:
    tokens = tokenize("a{# one\ntwo #}b{{ c }}")
    assert tokens == [
        Token("text", "a", 1, 1),
        Token("text", "b", 2, 7),
        Token("var_begin", "{{", 2, 8),
        Token("name", "c", 2, 11),
        Token("var_end", "}}", 2, 13),
    ]


def test_unclosed_tag() -> None:
    with pytest.raises(LexerError) as info:
        tokenize("line one\nx {{ name ")
    assert (info.value.line, info.value.col) == (2, 3)
    assert str(info.value) == "line 2, column 3: unclosed tag, expected '}}'"


def test_unclosed_comment() -> None:
    with pytest.raises(LexerError, match="line 1, column 4: unclosed comment"):
        tokenize("ab {# never closed")


def test_unexpected_character() -> None:
    with pytest.raises(LexerError) as info:
        tokenize("{{ a }}\n{% if a @ b %}")
    assert info.value.reason == "unexpected character '@'"
    assert (info.value.line, info.value.col) == (2, 9)


def test_single_brace_closer_is_an_error() -> None:
    with pytest.raises(LexerError, match="unexpected character '}'"):
        tokenize("{{ a } b")
