"""perfagent's instruments: deterministic tools with plain inputs and outputs.

Nothing in this package imports ``agent``.
"""
