"""``perfagent doctor``: what this machine supports to contain the code perfagent runs."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any

import click

from perfagent.agent.cli.progress import verbosity, verbosity_options
from perfagent.tools.runner import isolation_facts, network_isolation_available, sandbox_available
from perfagent.tools.runner.cgroups import cgroup_support


def isolation_support() -> dict[str, Any]:
    """One fact per protection: available or not, and how or why not."""
    sandbox, why = sandbox_available()
    cgroups = cgroup_support()
    root = os.geteuid() == 0
    return {
        "sandbox": {
            "ok": sandbox,
            "detail": "bubblewrap: own pid, user, mount, IPC, UTS and network namespaces; "
            "read-only system, writable tree and private /tmp"
            if sandbox
            else why,
        },
        "process_and_memory_limits": {
            "ok": bool(cgroups.parents),
            "detail": cgroups.describe()
            + (
                ""
                if "pids" in cgroups.parents
                else "; fallback RLIMIT_NPROC"
                + (" (does not bind root: only the pid namespace bounds processes)" if root else "")
            ),
        },
        "network_namespace": {
            "ok": sandbox or network_isolation_available(),
            "detail": "in the sandbox"
            if sandbox
            else ("unshare -n" if network_isolation_available() else "none: commands have network"),
        },
        "isolation_level": asdict(isolation_facts()),
        "required_works": sandbox,
    }


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
@verbosity_options
def doctor_command(as_json: bool) -> None:
    """Say what this machine supports to contain the code perfagent runs (--isolation)."""
    facts = isolation_support()
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    shown = ("sandbox", "process_and_memory_limits", "network_namespace")
    for name in () if verbosity() < 0 else shown:  # -q: the conclusion line only
        mark = "ok " if facts[name]["ok"] else "NO "
        click.echo(f"{mark} {name.replace('_', ' ')}: {facts[name]['detail']}")
    level = facts["isolation_level"]
    verdict = "works here" if facts["required_works"] else "would fail here"
    click.echo(f"--isolation required {verdict}; this run's level: {level['level']}")
