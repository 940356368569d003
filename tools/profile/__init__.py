"""The profiler: where a workload's time goes, as ranked, source-mapped hotspots."""

from tools.profile.model import Frame, Hotspot, Profile, Stack
from tools.profile.outputs import summary_text, write_speedscope
from tools.profile.run import profile_task

__all__ = [
    "Frame",
    "Hotspot",
    "Profile",
    "Stack",
    "profile_task",
    "summary_text",
    "write_speedscope",
]
