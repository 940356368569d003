"""The profiler: where a workload's time goes, as ranked, source-mapped hotspots."""

from perfagent.tools.profile.flamegraph import collapsed, diff_flamegraph_svg, flamegraph_svg
from perfagent.tools.profile.model import Frame, Hotspot, Profile, Stack
from perfagent.tools.profile.outputs import summary_text, write_speedscope
from perfagent.tools.profile.run import profile_task

__all__ = [
    "Frame",
    "Hotspot",
    "Profile",
    "Stack",
    "collapsed",
    "diff_flamegraph_svg",
    "flamegraph_svg",
    "profile_task",
    "summary_text",
    "write_speedscope",
]
