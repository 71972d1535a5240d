"""Session-scoped real engines: prepared models, one vLLM server per test run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engines import Engines
from engines.provision import prepare
from merchant_voice.config import Settings, build_settings

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT.parent / "shared" / "data" / "speech"
MODELS_CACHE = ROOT / "instance" / "models"  # prepared once, verified on later runs
TEST_CHAT_PORT = 8021
TEST_CHAT_ROUTES: dict[str, Any] = {"models": {}, "workloads": {}}
"""Every workload on the session's one server (SmolLM2): the default text model (a Qwen
2.5 Coder, 0.5B or 1.5B) would make the translation tests several times slower and start
a second server; test_default_text_model runs it once."""
TEST_TTS = {"noise_scale": 0.0, "noise_w": 0.0}
"""Deterministic speech: a test caller says the same audio every run, so a recognition
that passed once passes again (Piper's own variation misheard about one run in eight)."""


def engine_settings(tmp: Path, **sections: dict[str, Any]) -> Settings:
    config: dict[str, Any] = {
        "host": {"instance_path": str(tmp)},
        "models": {"cache_dir": str(MODELS_CACHE)},
        "chat": {"port": TEST_CHAT_PORT, "timeout_s": 120.0, **TEST_CHAT_ROUTES},
        "tts": dict(TEST_TTS),
    }
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    return build_settings(config, environ={})


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = engine_settings(tmp_path_factory.mktemp("engines"))
    prepare(settings.engines)
    return settings


@pytest.fixture(scope="session")
def engines(prepared: Settings) -> Iterator[Engines]:
    """The real engines, with the embedded vLLM server started once for the whole run."""
    engines = Engines(prepared.engines)
    assert engines.supervisor is not None
    engines.supervisor.start()
    if not engines.supervisor.wait_ready(prepared.chat.startup_timeout_s):
        engines.stop()
        log = engines.supervisor.log_path.read_text()[-3000:]
        pytest.fail(f"the vLLM server did not become ready:\n{log}")
    yield engines
    engines.close()


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, 1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)
            )
        previous = current
    return previous[-1] / max(len(ref), 1)
