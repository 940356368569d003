"""Private git workspaces (``clone.py``) and the machine's mirror cache of git URLs
(``mirror.py``)."""

from perfagent.tools.workspace.clone import GIT_TIMEOUT_S, Workspace, apply_to_checkout
from perfagent.tools.workspace.mirror import MirrorCache, cache_dir

__all__ = ["GIT_TIMEOUT_S", "MirrorCache", "Workspace", "apply_to_checkout", "cache_dir"]
