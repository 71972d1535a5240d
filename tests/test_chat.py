"""The shared chat engine against a real vLLM server (started once per run)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from engines import Engines
from engines.chat import ChatRequest, Priority
from engines.errors import EngineCancelled, EngineTimeout, EngineUnavailable
from engines.hardware import cpu_dtype
from engines.settings import ChatSettings, text_model
from engines.vllm_server import ServerSpec, VllmSupervisor, cpu_environment
from tests.engines_fixtures import engine_settings


class OrderAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_number: str
    status: str
    items: int


def _ask(text: str, **kwargs: object) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}], **kwargs)  # type: ignore[arg-type]


def test_structured_output_is_valid_against_its_schema(engines: Engines) -> None:
    schema = OrderAnswer.model_json_schema()
    result = engines.chat.complete(
        _ask(
            "Order 1042 with 3 items has shipped. Describe it as JSON.",
            json_schema=schema,
            max_tokens=80,
        )
    )
    answer = OrderAnswer.model_validate_json(result.text)  # raises unless valid
    assert answer.items >= 0


def test_streaming_yields_tokens_incrementally(engines: Engines) -> None:
    started = time.monotonic()
    arrivals = []
    for piece in engines.chat.stream(
        _ask(
            "Repeat after me: one, two, three, four, five, six, seven, eight, nine, ten.",
            max_tokens=60,
            temperature=0.0,  # the same answer every run
            priority=Priority.INTERACTIVE,
        )
    ):
        arrivals.append((time.monotonic() - started, piece))
    assert len(arrivals) > 5
    assert arrivals[0][0] < arrivals[-1][0]  # the first piece came before the answer was done
    assert "".join(piece for _, piece in arrivals).strip()


def test_a_request_can_be_cancelled(engines: Engines) -> None:
    cancel = threading.Event()
    received = []
    with pytest.raises(EngineCancelled):
        for piece in engines.chat.stream(_ask("Write a long story.", max_tokens=400), cancel):
            received.append(piece)
            if len(received) == 3:
                cancel.set()  # e.g. the caller hung up
    assert len(received) == 3


def test_a_request_over_its_deadline_times_out(engines: Engines) -> None:
    with pytest.raises(EngineTimeout):
        engines.chat.complete(_ask("Write a long story.", max_tokens=400, timeout_s=0.3))


def test_a_deadline_counts_the_engines_time_not_the_readers(engines: Engines) -> None:
    """A call holds a reply's first sentence while it waits for the end of the turn to be
    certain: that wait is not the engine's, and does not time the reply out."""
    request = _ask(
        "Count from one to twenty.",
        max_tokens=40,
        temperature=0.0,
        timeout_s=3.0,
        priority=Priority.INTERACTIVE,
    )
    stream = engines.chat.stream(request)
    pieces = [next(stream)]
    time.sleep(4.0)  # held past the whole deadline
    pieces += list(stream)
    assert len(pieces) > 5


def test_merchant_models_are_selected_from_config(tmp_path: Path) -> None:
    chat = {
        "url": "http://127.0.0.1:9",
        "merchant_models": {"acme": "acme-lora"},
        "models": {"text": {"url": "http://127.0.0.1:9"}},
        "workloads": {"translation": "text"},
    }
    routed = Engines(engine_settings(tmp_path, chat=chat).engines).chat
    assert routed.model_for("acme") == "acme-lora"
    assert routed.model_for("acme", "calls") == "acme-lora"
    assert routed.model_for("other") == "smollm2"
    assert routed.model_for("acme", "translation") == "text"  # adapters are [chat] model's


def test_killed_server_gives_a_clear_error_and_is_restarted(engines: Engines) -> None:
    supervisor = engines.supervisor
    assert supervisor is not None
    restarts = supervisor.restarts
    received: list[str] = []
    with pytest.raises(EngineUnavailable):
        for piece in engines.chat.stream(_ask("Write a long story.", max_tokens=400)):
            received.append(piece)
            if len(received) == 3:
                supervisor.kill()
    deadline = time.monotonic() + 30
    while supervisor.restarts == restarts and time.monotonic() < deadline:
        time.sleep(0.2)
    assert supervisor.restarts == restarts + 1, "the supervisor did not notice"
    assert supervisor.wait_ready(engines.settings.chat.startup_timeout_s), "not restarted"
    assert engines.chat.complete(_ask("Say hi.", max_tokens=5)).text


def test_status_health_and_metrics(engines: Engines, tmp_path: object) -> None:
    from app import create_app
    from tests.engines_fixtures import MODELS_CACHE, TEST_CHAT_PORT

    app = create_app(
        {
            "host": {"instance_path": str(tmp_path)},
            "database": {"url": f"sqlite:///{tmp_path}/mv.sqlite3"},
            "models": {"cache_dir": str(MODELS_CACHE)},
            "chat": {"url": f"http://127.0.0.1:{TEST_CHAT_PORT}"},
        }
    )
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert [e["name"] for e in ready.get_json()["engines"]] == ["chat", "asr", "tts"]
    metrics = client.get("/metrics").get_data(as_text=True)
    for name in (
        "mv_chat_time_to_first_token_seconds",
        "mv_asr_real_time_factor",
        "mv_tts_first_chunk_seconds",
        "mv_chat_requests_in_flight",
        "mv_engine_errors_total",
    ):
        assert name in metrics
    result = app.test_cli_runner().invoke(args=["engines", "status"])
    assert result.exit_code == 0, result.output
    assert result.output.count("healthy") == 3
    down = create_app(
        {
            "host": {"instance_path": str(tmp_path)},
            "database": {"url": f"sqlite:///{tmp_path}/mv.sqlite3"},
            "models": {"cache_dir": str(MODELS_CACHE)},
            "chat": {"url": "http://127.0.0.1:9", "connect_timeout_s": 0.5},
        }
    )
    not_ready = down.test_client().get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.get_json()["engines"][0]["healthy"] is False
    assert down.test_cli_runner().invoke(args=["engines", "status"]).exit_code == 1


def test_the_embedded_server_runs_float32_on_a_cpu_without_native_bfloat16(
    tmp_path: Path,
) -> None:
    """Emulated bfloat16 matmuls make prompts several times slower (engines.vllm_server)."""
    plain, native = tmp_path / "plain", tmp_path / "native"
    plain.write_text("flags\t\t: fpu sse2 avx avx2 fma\n")
    native.write_text("flags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16 amx_bf16\n")
    assert cpu_dtype(plain) == "float32"
    assert cpu_dtype(native) == "bfloat16"
    assert cpu_dtype(tmp_path / "missing") == "float32"
    chat = ChatSettings(device="cpu", dtype="bfloat16")
    spec = ServerSpec.primary(chat, tmp_path)
    command = VllmSupervisor(spec, tmp_path / "python", tmp_path / "log").command()
    assert command[command.index("--dtype") + 1] == "bfloat16"  # a setting wins


def test_the_default_text_model_is_chosen_for_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """In float32 the 1.5B is too big and slow for a 16 GiB host (docs/performance.md)."""
    from engines import hardware

    monkeypatch.setattr(hardware, "cuda_available", lambda: False)
    monkeypatch.setattr(hardware, "cpu_dtype", lambda: "float32")
    plain = ChatSettings()
    assert plain.route("translation") == plain.route("narration") == "qwen2.5-coder-0.5b"
    assert plain.models["qwen2.5-coder-0.5b"].bundled == "qwen2.5-coder-0.5b-instruct"
    assert plain.route("calls") == "smollm2"
    monkeypatch.setattr(hardware, "cpu_dtype", lambda: "bfloat16")
    assert ChatSettings().models["qwen2.5-coder-1.5b"].on_demand
    forced = ChatSettings(dtype="float32")  # float32 by choice: the model float32 suits
    assert forced.route("translation") == "qwen2.5-coder-0.5b"
    monkeypatch.setattr(hardware, "cpu_dtype", lambda: "float32")
    assert "qwen2.5-coder-1.5b" in ChatSettings(device="cuda").models  # a GPU: the 1.5B
    own = ChatSettings(workloads={"narration": "smollm2"})  # routes of one's own are kept
    assert own.route("narration") == "smollm2" and own.route("translation") == "smollm2"


def test_the_embedded_servers_cores_priority_and_compile_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default text server uses every core at nice 10; the calls server keeps vLLM's
    choice; AOT compilation, whose artifacts never reload on CPU, is off."""
    settings = ChatSettings(device="cpu")
    calls = ServerSpec.primary(settings, tmp_path)
    name = text_model("cpu")[0]
    text = ServerSpec.served(name, settings.models[name], tmp_path, "cpu")
    assert cpu_environment(calls) == {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_USE_AOT_COMPILE": "0"}
    cores = ",".join(str(core) for core in sorted(os.sched_getaffinity(0)))
    assert cpu_environment(text) == {
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_USE_AOT_COMPILE": "0",
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",  # on demand: one process to start
        "VLLM_CPU_OMP_THREADS_BIND": cores,
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    }
    command = VllmSupervisor(text, tmp_path / "python", tmp_path / "log").command()
    assert command[:4] == ["nice", "-n", "10", str(tmp_path / "python")]
    assert "-O0" in command  # on demand: a start in under a minute, not a compilation
    calls_command = VllmSupervisor(calls, tmp_path / "python", tmp_path / "log").command()
    assert calls_command[0] != "nice" and "-O0" not in calls_command  # calls decode compiled
    listed = ServerSpec.primary(ChatSettings(cpu_cores="0-1,3"), tmp_path)
    assert cpu_environment(listed)["VLLM_CPU_OMP_THREADS_BIND"] == "0-1,3"
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "6")  # the operator's own setting wins
    assert cpu_environment(calls)["VLLM_CPU_KVCACHE_SPACE"] == "6"
    with pytest.raises(ValidationError, match="cpu_cores"):
        ChatSettings(cpu_cores="every one")
