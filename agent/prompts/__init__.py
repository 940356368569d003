"""Prompt templates (module constants) and the functions that fill them from raw facts."""
