"""Prometheus metrics of the engines, exposed at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)
_FACTOR = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)

CHAT_TTFT = Histogram(
    "mv_chat_time_to_first_token_seconds",
    "Chat: time to the first token.",
    ["model", "priority"],
    buckets=_LATENCY,
)
CHAT_TOKENS_PER_S = Histogram(
    "mv_chat_tokens_per_second",
    "Chat: tokens per second of one stream.",
    ["model", "priority"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
CHAT_IN_FLIGHT = Gauge(
    "mv_chat_requests_in_flight", "Chat requests being served.", ["model", "priority"]
)
CHAT_QUEUED = Gauge(
    "mv_chat_requests_queued",
    "Chat requests waiting for admission in the host.",
    ["model", "priority"],
)
ASR_RTF = Histogram(
    "mv_asr_real_time_factor",
    "Speech recognition: processing time / audio time.",
    ["model"],
    buckets=_FACTOR,
)
TTS_RTF = Histogram(
    "mv_tts_real_time_factor",
    "Speech synthesis: processing time / audio time.",
    ["voice"],
    buckets=_FACTOR,
)
TTS_FIRST_CHUNK = Histogram(
    "mv_tts_first_chunk_seconds",
    "Speech synthesis: time to the first audio chunk.",
    ["voice"],
    buckets=_LATENCY,
)
ENGINE_ERRORS = Counter("mv_engine_errors_total", "Engine errors.", ["engine"])
CHAT_BULK_LIMIT = Gauge(
    "mv_chat_bulk_limit",
    "Chat: bulk requests admitted at once (adapted to the server's pace).",
    ["model"],
)
BULK_PAUSED_SECONDS = Counter(
    "mv_bulk_server_paused_seconds_total",
    "Time a bulk chat server was stopped for live calls' turns (CPU hosts).",
    ["model"],
)
