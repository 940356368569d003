"""perfagent: an open-source performance engineer for Python repositories.

The repository keeps its two top-level folders, ``agent/`` (decisions, entry points) and
``tools/`` (deterministic instruments); they are installed as ``perfagent.agent`` and
``perfagent.tools`` (``perfagent/agent`` and ``perfagent/tools`` are links to them), so an
installation adds no generic top-level names to site-packages.
"""
