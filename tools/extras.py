"""Optional parts of perfagent: the extra that installs each, and a one-line error without it.

The core (``pip install perfagent``) runs the CLI, the lab and the agent loop. The GitHub App
(``[app]``), Dask clusters (``[dask]``) and parquet task sets (``[parquet]``) need packages
the core does not install; code that needs one calls ``require`` before importing them.
"""

from __future__ import annotations

import importlib.util

from perfagent.tools.errors import PerfagentError

EXTRAS: dict[str, tuple[str, ...]] = {
    "app": ("fastapi", "uvicorn", "githubkit", "jwt"),
    "dask": ("distributed",),
    "parquet": ("pyarrow",),
}


class MissingExtraError(PerfagentError):
    """A feature whose packages come with an extra that is not installed."""


def missing(extra: str) -> list[str]:
    """The top-level modules of ``extra`` that cannot be imported here."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require(extra: str, feature: str) -> None:
    """Raise ``MissingExtraError`` naming ``pip install 'perfagent[extra]'`` if ``extra``'s
    packages are not installed."""
    if absent := missing(extra):
        raise MissingExtraError(
            f"{feature} needs the [{extra}] extra ({', '.join(absent)} not installed): "
            f"pip install 'perfagent[{extra}]'"
        )
