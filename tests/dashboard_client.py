"""Driving the dashboard with Flask's test client: users, CSRF tokens, signing in; and
calls to show (the Flask client's tests and the browser's)."""

from __future__ import annotations

import re
import wave
from datetime import timedelta
from typing import Any

import numpy as np
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from merchant_voice.orm import utcnow
from merchant_voice.tenancy import MerchantInfo
from plugins.support_calls.models import Call, Turn
from plugins.support_calls.records import recordings_dir
from tests.conftest import Shop

PASSWORD = "correct horse battery"


def token(page: str) -> str:
    """The CSRF token of the (first) form on ``page``."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def add_user(app: Flask, shop: Shop, email: str, role: str = "owner", *more: str) -> None:
    args = ["users", "create", shop.merchant.slug, email, "--password", PASSWORD, "--role", role]
    result = app.test_cli_runner().invoke(args=[*args, *more])
    assert result.exit_code == 0, result.output


def sign_in(
    client: FlaskClient, email: str, password: str = PASSWORD, **query: str
) -> TestResponse:
    form_token = token(client.get("/dashboard/login").get_data(as_text=True))
    form = {"email": email, "password": password, "csrf_token": form_token}
    return client.post("/dashboard/login", data=form, query_string=query)


def add_call(
    app: Flask,
    merchant: MerchantInfo,
    number: int,
    recorded: bool = False,
    **fields: Any,
) -> int:
    """A finished call of ``merchant``: a greeting and one timed answer with a tool call,
    ``number`` minutes ago (unless ``started_at`` is given); ``recorded``: with a two-second
    WAV recording where support calls keeps them. Its id."""
    started = fields.pop("started_at", utcnow() - timedelta(minutes=number))
    with app.app_context(), app.extensions["db"].tenant_session(merchant) as session:
        call = Call(
            call_sid=f"CA{number:032d}",
            caller=str(fields.pop("caller", "+14155550100")),
            status="completed",
            started_at=started,
            ended_at=started + timedelta(seconds=95),
            duration_s=95,
            **fields,
        )
        call.turns = [
            Turn(index=0, source="greeting", reply="Thank you for calling.", started_at=started),
            Turn(
                index=1,
                transcript="Is the organic hoodie in stock?",
                reply="Yes, the organic hoodie is in stock in every size.",
                tool_calls=[{"name": "product_info", "arguments": {"query": "organic hoodie"}}],
                endpoint_ms=420,
                asr_ms=310,
                llm_first_token_ms=550,
                first_audio_ms=1500,
                started_at=started + timedelta(seconds=5),
            ),
        ]
        session.add(call)
        session.flush()
        if recorded:
            folder = recordings_dir() / str(merchant.id)
            folder.mkdir(parents=True, exist_ok=True)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(16000) / 8000) * 32767).astype("<i2")
            with wave.open(str(folder / f"{call.id}.wav"), "wb") as wav:
                wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
                wav.writeframes(tone.tobytes())
            call.recording_path = f"{merchant.id}/{call.id}.wav"
        session.commit()
        return call.id
