"""Chat-model adapters against a real loopback HTTP server; the scripted model; prices; retries."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from perfagent.agent.models import (
    ModelError,
    PriceTable,
    RetryPolicy,
    ToolCall,
    ToolSpec,
    make_chat_model,
)
from perfagent.agent.models.anthropic_chat import AnthropicChatModel
from perfagent.agent.models.base import redact
from perfagent.agent.models.fake import ScriptedChatModel
from perfagent.agent.models.openai_chat import OpenAIChatModel
from perfagent.agent.models.pricing import is_local

KEY = "sk-test-secret-0001"
TOOL = ToolSpec(
    "read_function",
    "Read a function",
    {"type": "object", "properties": {"qualname": {"type": "string"}}, "required": ["qualname"]},
)
CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "You optimise."},
    {"role": "user", "content": "Make total faster."},
    {
        "role": "assistant",
        "content": "Looking first.",
        "tool_calls": [
            {"id": "c1", "name": "read_function", "arguments": {"qualname": "total"}},
            {"id": "c2", "name": "read_function", "arguments": {"qualname": "helper"}},
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "name": "read_function", "content": "def total(): ..."},
    {"role": "tool", "tool_call_id": "c2", "name": "read_function", "content": "def helper(): ..."},
]


@dataclass
class Canned:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class Loopback:
    """A real HTTP server on 127.0.0.1 answering each request with the next canned reply."""

    def __init__(self) -> None:
        self.replies: list[Canned] = []
        self.seen: list[Seen] = []
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(size) or b"null")
                headers = {k.lower(): v for k, v in self.headers.items()}
                loopback.seen.append(Seen(self.path, headers, body))
                reply = loopback.replies.pop(0) if loopback.replies else Canned(599, {})
                time.sleep(reply.delay)
                data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[Loopback]:
    loopback = Loopback()
    yield loopback
    loopback.close()


@pytest.fixture
def slept() -> list[float]:
    return []


def policy(slept: list[float], attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, sleep=slept.append, rng=random.Random(1))


def completion(
    content: str | None = "Summary: faster",
    tool_calls: list[dict[str, Any]] | None = None,
    usage: bool = True,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}
    return body


def function_call(id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_use(id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": id, "name": name, "input": arguments}


def claude(content: list[dict[str, Any]], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 2000, "output_tokens": 100},
    }


def openai_model(server: Loopback, slept: list[float], **kw: Any) -> OpenAIChatModel:
    options: dict[str, Any] = {"retry": policy(slept), "local": False, **kw}
    return OpenAIChatModel("gpt-4o-mini", api_key=KEY, base_url=server.url + "/v1", **options)


def anthropic_model(server: Loopback, slept: list[float], **kw: Any) -> AnthropicChatModel:
    options: dict[str, Any] = {"retry": policy(slept), "local": False, **kw}
    return AnthropicChatModel("claude-sonnet-4-6", api_key=KEY, base_url=server.url, **options)


# -- OpenAI ---------------------------------------------------------------------------------


def test_openai_text_answer_usage_and_cost(server: Loopback, slept: list[float]) -> None:
    server.replies.append(Canned(200, completion("Summary: use a generator")))
    response = openai_model(server, slept).complete(
        [{"role": "user", "content": "hi"}], temperature=0.7, max_tokens=500
    )
    assert (response.text, response.tool_calls, response.stop_reason) == (
        "Summary: use a generator",
        [],
        "stop",
    )
    assert (response.input_tokens, response.output_tokens, response.attempts) == (1000, 200, 1)
    assert response.model == "gpt-4o-mini-2024-07-18"
    assert response.cost_usd == pytest.approx((1000 * 0.15 + 200 * 0.60) / 1e6)
    [seen] = server.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    # A compatible server gets max_tokens; OpenAI's own API would get max_completion_tokens.
    assert seen.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 500,
        "temperature": 0.7,
    }


def test_openai_tools_and_tool_turns_round_trip(server: Loopback, slept: list[float]) -> None:
    calls = [
        function_call("c3", "read_function", '{"qualname": "f"}'),
        function_call("c4", "search_repo", "not json"),
    ]
    server.replies.append(Canned(200, completion(None, calls)))
    response = openai_model(server, slept).complete(CONVERSATION, tools=[TOOL])
    assert response.text == ""
    assert response.tool_calls == [
        ToolCall("c3", "read_function", {"qualname": "f"}),
        ToolCall("c4", "search_repo", {"_raw": "not json"}),
    ]
    assert response.stop_reason == "tool_calls"
    body = server.seen[0].body
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "read_function",
                "description": "Read a function",
                "parameters": TOOL.parameters,
            },
        }
    ]
    assert body["messages"][2] == {
        "role": "assistant",
        "content": "Looking first.",
        "tool_calls": [
            function_call("c1", "read_function", '{"qualname": "total"}'),
            function_call("c2", "read_function", '{"qualname": "helper"}'),
        ],
    }
    assert body["messages"][3:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "def total(): ..."},
        {"role": "tool", "tool_call_id": "c2", "content": "def helper(): ..."},
    ]
    assert body["messages"][0] == {"role": "system", "content": "You optimise."}


def test_openai_rate_limit_is_retried(server: Loopback, slept: list[float]) -> None:
    rate_limited = {"error": {"message": "Rate limit reached", "type": "requests"}}
    server.replies += [Canned(429, rate_limited, {"retry-after": "3"}), Canned(200, completion())]
    response = openai_model(server, slept).complete([{"role": "user", "content": "hi"}])
    assert response.attempts == 2
    assert len(server.seen) == 2
    assert len(slept) == 1 and slept[0] >= 3  # the server's Retry-After is honoured


def test_openai_auth_error_fails_at_once_without_the_key(
    server: Loopback, slept: list[float]
) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}
    server.replies.append(Canned(401, body))
    with pytest.raises(ModelError) as info:
        openai_model(server, slept).complete([{"role": "user", "content": "hi"}])
    message = str(info.value)
    assert message.startswith("openai:gpt-4o-mini: authentication failed (401): Incorrect API key")
    assert "OPENAI_API_KEY" in message
    assert KEY not in message and "\n" not in message
    assert (len(server.seen), slept, info.value.attempts) == (1, [], 1)


def test_openai_server_errors_give_up_after_the_cap(server: Loopback, slept: list[float]) -> None:
    server.replies += [Canned(500, {"error": {"message": "boom"}})] * 3
    model = openai_model(server, slept, retry=policy(slept, attempts=3))
    with pytest.raises(ModelError, match=r"gave up after 3 attempts: server error \(500\): boom"):
        model.complete([{"role": "user", "content": "hi"}])
    assert len(server.seen) == 3
    assert len(slept) == 2


def test_openai_timeout_is_transient(server: Loopback, slept: list[float]) -> None:
    server.replies += [Canned(200, completion(), delay=2.0)] * 2
    model = openai_model(server, slept, retry=policy(slept, attempts=2), timeout=0.3)
    with pytest.raises(ModelError, match="gave up after 2 attempts: timed out") as info:
        model.complete([{"role": "user", "content": "hi"}])
    assert info.value.attempts == 2


def test_openai_missing_usage_counts_zero(server: Loopback, slept: list[float]) -> None:
    server.replies += [Canned(200, completion(usage=False))] * 2
    remote = openai_model(server, slept).complete([{"role": "user", "content": "hi"}])
    assert (remote.input_tokens, remote.output_tokens, remote.usage_reported) == (0, 0, False)
    assert remote.cost_usd is None  # a paid API that reports nothing: the cost is unknown
    local = openai_model(server, slept, local=None).complete([{"role": "user", "content": "x"}])
    assert (local.usage_reported, local.cost_usd) == (False, 0.0)


# -- Anthropic ------------------------------------------------------------------------------


def test_anthropic_messages_tools_and_usage(server: Loopback, slept: list[float]) -> None:
    content = [
        {"type": "text", "text": "Reading it."},
        tool_use("t9", "read_function", {"qualname": "f"}),
    ]
    server.replies.append(Canned(200, claude(content, "tool_use")))
    response = anthropic_model(server, slept).complete(CONVERSATION, tools=[TOOL], max_tokens=900)
    assert response.text == "Reading it."
    assert response.tool_calls == [ToolCall("t9", "read_function", {"qualname": "f"})]
    assert (response.stop_reason, response.input_tokens, response.output_tokens) == (
        "tool_use",
        2000,
        100,
    )
    assert response.cost_usd == pytest.approx((2000 * 3.0 + 100 * 15.0) / 1e6)
    [seen] = server.seen
    assert seen.path == "/v1/messages"
    body = seen.body
    assert body["system"] == "You optimise."
    assert body["max_tokens"] == 900
    assert "temperature" not in body
    assert body["tools"] == [
        {"name": "read_function", "description": "Read a function", "input_schema": TOOL.parameters}
    ]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Make total faster."}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking first."},
                tool_use("c1", "read_function", {"qualname": "total"}),
                tool_use("c2", "read_function", {"qualname": "helper"}),
            ],
        },
        {  # both results in the one user turn that follows the tool calls
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "def total(): ..."},
                {"type": "tool_result", "tool_use_id": "c2", "content": "def helper(): ..."},
            ],
        },
    ]


def test_anthropic_sends_temperature_only_when_asked(server: Loopback, slept: list[float]) -> None:
    server.replies.append(Canned(200, claude([{"type": "text", "text": "ok"}])))
    anthropic_model(server, slept, send_temperature=True).complete(
        [{"role": "user", "content": "hi"}], temperature=0.7
    )
    assert server.seen[0].body["temperature"] == 0.7


def test_anthropic_overloaded_is_retried(server: Loopback, slept: list[float]) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.replies += [Canned(529, overloaded), Canned(429, overloaded)]
    server.replies.append(Canned(200, claude([{"type": "text", "text": "done"}])))
    response = anthropic_model(server, slept).complete([{"role": "user", "content": "hi"}])
    assert (response.text, response.attempts, len(slept)) == ("done", 3, 2)
    assert slept[0] <= slept[1]  # the backoff grows (jitter stays within each step)


@pytest.mark.parametrize(
    ("status", "kind", "hint"),
    [(401, "authentication failed", True), (400, "bad request", False)],
)
def test_anthropic_client_errors_fail_at_once(
    server: Loopback, slept: list[float], status: int, kind: str, hint: bool
) -> None:
    body = {"type": "error", "error": {"type": "x", "message": f"bad thing; key {KEY}"}}
    server.replies.append(Canned(status, body))
    with pytest.raises(ModelError) as info:
        anthropic_model(server, slept).complete([{"role": "user", "content": "hi"}])
    message = str(info.value)
    assert message.startswith(f"anthropic:claude-sonnet-4-6: {kind} ({status}): bad thing")
    assert ("ANTHROPIC_API_KEY" in message) is hint
    assert KEY not in message
    assert (len(server.seen), slept) == (1, [])


# -- make_chat_model ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "var"),
    [("openai:gpt-4o", "OPENAI_API_KEY"), ("anthropic:claude-x", "ANTHROPIC_API_KEY")],
)
def test_missing_key_names_the_variable(spec: str, var: str) -> None:
    with pytest.raises(ModelError, match=f"^{spec}: {var} is not set"):
        make_chat_model(spec, env={})


def test_local_server_needs_no_key(server: Loopback) -> None:
    server.replies.append(Canned(200, completion("hello", usage=False)))
    model = make_chat_model("openai:qwen2.5-coder", env={"OPENAI_BASE_URL": server.url + "/v1"})
    response = model.complete([{"role": "user", "content": "hi"}])
    assert (model.provider, model.model, response.text) == ("openai", "qwen2.5-coder", "hello")
    assert response.cost_usd == 0.0
    assert server.seen[0].headers["authorization"] == "Bearer not-needed"


def test_key_from_env_and_base_url_flag(server: Loopback) -> None:
    server.replies.append(Canned(200, claude([{"type": "text", "text": "ok"}])))
    model = make_chat_model(
        "anthropic:claude-sonnet-4-6", base_url=server.url, env={"ANTHROPIC_API_KEY": KEY}
    )
    assert model.complete([{"role": "user", "content": "hi"}]).text == "ok"
    assert KEY in " ".join(server.seen[0].headers.values())


@pytest.mark.parametrize(
    ("spec", "message"),
    [("gpt-4o", "expected provider:model"), ("azure:gpt-4o", "unknown provider 'azure'")],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        make_chat_model(spec, env={})


def test_fake_spec_reads_a_yaml_script(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        "model: demo\nprice: {input: 1.0, output: 2.0}\nresponses:\n"
        "  - text: looking\n    tool_calls:\n"
        "      - {name: read_function, arguments: {qualname: f}}\n"
        "  - 'Summary: done'\n"
    )
    model = make_chat_model(f"fake:{script}", env={})
    first = model.complete([{"role": "user", "content": "x" * 40}])
    assert first.tool_calls == [ToolCall("call_1_1", "read_function", {"qualname": "f"})]
    assert (model.provider, model.model, first.input_tokens) == ("fake", "demo", 10)
    assert model.complete([{"role": "user", "content": "y"}]).text == "Summary: done"
    with pytest.raises(ModelError, match=r"no response left \(all 2 were used\)"):
        model.complete([{"role": "user", "content": "z"}])


# -- the scripted model ---------------------------------------------------------------------


def test_scripted_model_records_requests_and_counts_tokens() -> None:
    model = ScriptedChatModel(["a" * 40, {"error": "rate limited"}], price=(1.0, 2.0))
    messages: list[dict[str, Any]] = [{"role": "user", "content": "b" * 400}]
    response = model.complete(messages, tools=[TOOL], temperature=0.7, max_tokens=10)
    messages[0]["content"] = "changed later"
    assert model.requests[0].messages == [{"role": "user", "content": "b" * 400}]
    assert (model.requests[0].tools, model.requests[0].temperature) == (["read_function"], 0.7)
    assert (response.input_tokens, response.output_tokens) == (100, 10)
    assert response.cost_usd == pytest.approx((100 * 1.0 + 10 * 2.0) / 1e6)
    with pytest.raises(ModelError, match="script: rate limited"):
        model.complete(messages)
    assert model.remaining == 0


def test_scripted_model_from_json_list(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps(["one", {"text": "two", "stop_reason": "length"}]))
    model = ScriptedChatModel.from_file(script)
    assert model.complete([]).text == "one"
    assert model.complete([]).stop_reason == "length"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{responses: 3}", "must be a list or have a 'responses' list"),
        ("- {txt: 1}", "unknown keys \\['txt'\\]"),
        ("- {tool_calls: [{arguments: {}}]}", "a tool call needs a 'name'"),
        ("responses: [a]\nprice: 3", "'price' must be"),
        ("[unclosed", "cannot read the script"),
    ],
)
def test_bad_scripts(tmp_path: Path, text: str, message: str) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(text)
    with pytest.raises(ModelError, match=message):
        ScriptedChatModel.from_file(script)


# -- prices, retries, redaction -------------------------------------------------------------


def test_prices(tmp_path: Path) -> None:
    table = PriceTable(env={})
    assert table.cost("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)
    assert table.lookup("gpt-4o-mini-2024-07-18") == (0.15, 0.60)  # the longest base name
    assert table.lookup("claude-sonnet-4-20250514") == (3.0, 15.0)
    assert table.cost("mystery-model", 10, 10) is None
    assert table.cost("mystery-model", 10, 10, local=True) == 0.0
    override = tmp_path / "prices.json"
    override.write_text(json.dumps({"gpt-4o": {"input": 1, "output": 1}, "mystery-model": [2, 4]}))
    table = PriceTable({"gpt-4o-mini": [0, 0]}, env={"PERFAGENT_PRICES": str(override)})
    assert table.cost("gpt-4o", 1_000_000, 0) == 1.0
    assert table.cost("mystery-model", 0, 1_000_000) == 4.0
    assert table.cost("gpt-4o-mini", 5, 5) == 0.0
    override.write_text(json.dumps({"gpt-4o": "cheap"}))
    with pytest.raises(ModelError, match=r"prices\.json: gpt-4o: a price must be"):
        PriceTable(env={"PERFAGENT_PRICES": str(override)})


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:11434/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://[::1]:8000", True),
        ("https://api.openai.com/v1", False),
        ("https://api.together.xyz/v1", False),
        (None, False),
    ],
)
def test_is_local(url: str | None, local: bool) -> None:
    assert is_local(url) is local


def test_backoff_doubles_with_jitter_and_caps() -> None:
    retry = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(7))
    for attempt, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        assert cap / 2 <= retry.delay(attempt) <= cap
    assert retry.delay(1, retry_after=5.0) == 5.0
    assert retry.delay(1, retry_after=100.0) == 8.0


def test_redact() -> None:
    text = f"bad key {KEY} and sk-ant-api03-abcdefgh and Bearer xyz123 and custom-token"
    assert redact(text, ["custom-token"]) == (
        "bad key [redacted] and [redacted] and [redacted] and [redacted]"
    )


def test_the_proposer_takes_a_request_timeout_and_an_answer_size(server: Loopback) -> None:
    from perfagent.agent.proposers import make_proposer
    from perfagent.agent.proposers.model import ModelProposer

    url = server.url + "/v1"
    slow = make_proposer("openai:m", base_url=url, timeout=321.0, max_tokens=512)
    assert isinstance(slow, ModelProposer) and isinstance(slow.model, OpenAIChatModel)
    assert (slow.model.client.timeout, slow.max_tokens) == (321.0, 512)
    default = make_proposer("openai:m", base_url=url)
    assert isinstance(default, ModelProposer) and isinstance(default.model, OpenAIChatModel)
    assert (default.model.client.timeout, default.max_tokens) == (120.0, 4096)
