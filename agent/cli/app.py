"""``perfagent app serve``: run perfagent as a GitHub App (webhook server + workers)."""

from __future__ import annotations

from pathlib import Path

import click

from perfagent.agent.cli.progress import verbosity_options


@click.group("app")
def app_group() -> None:
    """perfagent as a GitHub App."""


@app_group.command("serve")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML settings (else PERFAGENT_APP_* environment variables only).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to bind.")
@verbosity_options
def serve_command(config_file: Path | None, host: str, port: int) -> None:
    """Answer GitHub webhooks at POST /webhook (GET /healthz) and run the queued jobs."""
    from perfagent.agent.app.config import load_config
    from perfagent.agent.app.service import serve

    serve(load_config(config_file), host=host, port=port, config_file=config_file)
