"""Engine benchmark: chat throughput and latency, priorities, speech real-time factors.

    .venv/bin/python bench/engines.py [--url http://host:port] [--concurrency 32]

Without --url it starts the embedded vLLM server (prepared bundled model) on a
spare port and stops it afterwards. Every figure is measured in this one run;
ratios compare figures of the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines import Engines
from engines.audio import decode
from engines.chat import ChatEngine, ChatRequest, Priority, VllmChat
from engines.provision import prepare
from engines.settings import ChatSettings, EngineSettings, SpeechSettings

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT.parent / "shared" / "data" / "speech"
PROMPT = "Write a short paragraph about a hiking backpack for an online shop."


def _request(priority: Priority, max_tokens: int = 128) -> ChatRequest:
    return ChatRequest(
        [{"role": "user", "content": PROMPT}],
        max_tokens=max_tokens,
        temperature=0.7,
        priority=priority,
    )


def _tokens_per_s(chat: ChatEngine, priority: Priority) -> tuple[int, float]:
    result = chat.complete(_request(priority))
    return result.tokens, result.total_s


def _ttft(chat: ChatEngine, priority: Priority) -> float:
    started = time.monotonic()
    for _ in chat.stream(_request(priority, max_tokens=8)):
        return time.monotonic() - started
    return float("nan")


def _ttft_under_load(chat: ChatEngine, concurrency: int, priority: Priority, probes: int) -> float:
    """Median time to first token of ``priority`` probes while ``concurrency`` bulk streams run."""
    stop = threading.Event()

    def bulk() -> None:
        while not stop.is_set():
            chat.complete(_request(Priority.BULK, max_tokens=256))

    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(bulk)
        time.sleep(3.0)  # let the batch fill
        samples = []
        for _ in range(probes):
            samples.append(_ttft(chat, priority))
            time.sleep(0.5)
        stop.set()
    return statistics.median(samples)


def bench_chat(chat: ChatEngine, concurrency: int) -> None:
    _tokens_per_s(chat, Priority.BULK)  # warm up
    tokens, seconds = _tokens_per_s(chat, Priority.BULK)
    single = tokens / seconds
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: _tokens_per_s(chat, Priority.BULK), range(concurrency)))
    total = sum(t for t, _ in results) / (time.monotonic() - started)
    print(f"chat single stream:            {single:8.1f} tok/s")
    print(f"chat {concurrency} concurrent (total):   {total:8.1f} tok/s")
    print(f"  batching ratio:              {total / single:8.1f}x")
    idle = statistics.median(_ttft(chat, Priority.INTERACTIVE) for _ in range(10))
    print(f"streaming TTFT p50, idle:      {idle * 1000:8.0f} ms")
    equal = _ttft_under_load(chat, concurrency, Priority.BULK, probes=8)
    first = _ttft_under_load(chat, concurrency, Priority.INTERACTIVE, probes=8)
    print(
        f"TTFT p50 under {concurrency} bulk, same priority:   {equal * 1000:6.0f} ms"
        f"  ({equal / idle:.1f}x idle)"
    )
    print(
        f"TTFT p50 under {concurrency} bulk, interactive:     {first * 1000:6.0f} ms"
        f"  ({first / idle:.1f}x idle, {equal / first:.1f}x better than same priority)"
    )


def bench_speech(settings_dir: Path) -> None:
    files = [("jfk.flac", "flac"), ("OSR_us_000_0034_8k.wav", "wav")]
    for model in ("tiny.en", "base"):
        engines = Engines(_settings(settings_dir, speech=SpeechSettings(model=model)))
        engines.asr.load()
        for name, encoding in files:
            audio = decode((SPEECH / name).read_bytes(), encoding)  # type: ignore[arg-type]
            engines.asr.transcribe(audio, language="en")  # warm
            transcript = engines.asr.transcribe(audio, language="en")
            print(
                f"asr {model:<8} {name:<26} RTF {transcript.real_time_factor:.3f}"
                f"  ({transcript.duration_s:.1f} s of audio)"
            )
    engines = Engines(_settings(settings_dir))
    engines.tts.warm()
    text = " ".join(
        line.split(".", 1)[1].strip()
        for line in (ROOT.parent / "shared/data/tts/harvard_sentences.txt")
        .read_text()
        .splitlines()[1:11]
    )
    list(engines.tts.synthesize("Warm up.", "en_US"))
    started = time.perf_counter()
    first = None
    spoken = 0.0
    for chunk in engines.tts.synthesize(text, "en_US"):
        first = first if first is not None else time.perf_counter() - started
        spoken += chunk.audio.seconds
    total = time.perf_counter() - started
    print(
        f"tts en_US joe: RTF {total / spoken:.3f} ({spoken:.1f} s of speech),"
        f" first chunk {first * 1000 if first else float('nan'):.0f} ms"
    )


def _settings(
    instance: Path, chat: ChatSettings | None = None, speech: SpeechSettings | None = None
) -> EngineSettings:
    """The engines on their own: no host configuration involved."""
    return EngineSettings(
        models_dir=ROOT / "instance" / "models",
        vllm_python=ROOT / ".venv-vllm" / "bin" / "python",
        logs_dir=instance / "logs",
        chat=chat or ChatSettings(port=8031, timeout_s=300.0),
        speech=speech or SpeechSettings(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an existing vLLM server (default: start the embedded one)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--skip-chat", action="store_true")
    parser.add_argument("--skip-speech", action="store_true")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra argument for the embedded vLLM server, e.g. --server-arg=--max-num-seqs=16",
    )
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        settings = _settings(instance)
        prepare(settings)
        if not arguments.skip_speech:
            bench_speech(instance)
        if arguments.skip_chat:
            return
        if arguments.url:
            chat = VllmChat(arguments.url, arguments.model, timeout_s=300, bulk_concurrency=1024)
            bench_chat(chat, arguments.concurrency)
            return
        embedded = ChatSettings(
            port=8031, timeout_s=300.0, bulk_concurrency=1024, extra_args=arguments.server_arg
        )
        engines = Engines(_settings(instance, chat=embedded))
        assert engines.supervisor is not None
        engines.supervisor.start()
        try:
            if not engines.supervisor.wait_ready(900):
                sys.exit(f"vLLM did not start; see {engines.supervisor.log_path}")
            bench_chat(engines.chat, arguments.concurrency)
        finally:
            engines.stop()


if __name__ == "__main__":
    main()
