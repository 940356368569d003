"""Lexer and helpers for a small Jinja-like template language."""

from stencil.analysis import referenced_variables, tag_counts
from stencil.lexer import tokenize
from stencil.tokens import LexerError, Token

__all__ = ["LexerError", "Token", "referenced_variables", "tag_counts", "tokenize"]

__version__ = "0.5.0"
