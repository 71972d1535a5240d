"""The production server (``flask serve``: gunicorn's asgi worker) serves a call and stops
cleanly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from merchant_voice.config import Settings
from plugins.support_calls.telephony.caller import TwilioCaller, call_sid, place_call
from tests.served_host import TOKEN, served_host

CRASHES = ("SIGSEGV", "SIGABRT", "terminate called", "exited with code", "Traceback")


@pytest.mark.usefixtures("prepared")
def test_a_served_host_stops_cleanly_after_a_call(tmp_path: Path, prepared: Settings) -> None:
    with served_host(tmp_path) as served:  # the greeting needs no chat engine
        answer = place_call(served.url, "acme", TOKEN, call_sid(1), "+15550100", "+15550000")
        caller = TwilioCaller(answer.stream_url, call_sid(1))
        caller.wait_reply(0, timeout=60)  # the greeting: speech models loaded and used
        assert caller.heard.frames
        caller.hang_up()
        time.sleep(1.0)
    output = served.log.read_text()
    assert served.returncode == 0, output
    assert "Worker exiting" in output and "Shutting down: Master" in output
    assert not [crash for crash in CRASHES if crash in output], output
