"""The support-calls dashboard: the overview's call figures and charts, the calls list
with its filters, and a call's turns, tool calls, stage timeline and recording; another
merchant's call is not there, whatever its id."""

from __future__ import annotations

import wave
from datetime import timedelta

from flask import Flask

from merchant_voice.orm import utcnow
from plugins.support_calls.models import Call, Turn
from plugins.support_calls.records import recordings_dir
from tests.conftest import Shop
from tests.dashboard_client import add_user, sign_in


def _call(app: Flask, shop: Shop, number: int, **fields: object) -> int:
    started = fields.pop("started_at", utcnow() - timedelta(minutes=number))
    with app.extensions["db"].tenant_session(shop.merchant) as session:
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
                transcript="Where is order 1042?",
                reply="It was shipped on November 20.",
                tool_calls=[{"name": "order_status", "arguments": {"order_number": "1042"}}],
                endpoint_ms=420,
                asr_ms=310,
                llm_first_token_ms=550,
                first_audio_ms=1500,
                started_at=started + timedelta(seconds=5),
            ),
        ]
        session.add(call)
        session.commit()
        return call.id


def test_agents_see_their_calls_filtered_with_turns_timeline_and_recording(
    app: Flask, shop_a: Shop, shop_b: Shop
) -> None:
    handed = _call(app, shop_a, 1, outcome="handed_off", language="en", recording_path="x.wav")
    _call(app, shop_a, 2, outcome="resolved", language="de", caller="+4930123456")
    _call(
        app, shop_a, 3, outcome="resolved", language="en", started_at=utcnow() - timedelta(days=30)
    )
    theirs = _call(app, shop_b, 4, outcome="resolved", caller="+15550009999")
    with app.app_context():
        folder = recordings_dir() / str(shop_a.id)
    folder.mkdir(parents=True)
    with wave.open(str(folder / f"{handed}.wav"), "wb") as wav:
        wav.setnchannels(2), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(b"\0\0" * 16000)
    with app.extensions["db"].tenant_session(shop_a.merchant) as session:
        session.get(Call, handed).recording_path = f"{shop_a.id}/{handed}.wav"
        session.commit()
    add_user(app, shop_a, "agent@shop-a.test", "agent")
    client = app.test_client()
    assert sign_in(client, "agent@shop-a.test").status_code == 302

    overview = client.get("/dashboard/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<dt>Calls today</dt><dd>2</dd>" in overview.replace("\n", "").replace("  ", "")
    assert "Hand-offs this week" in overview and 'id="calls-per-day"' in overview
    assert "1.5 s" in overview  # the median voice-to-voice latency of today's answers
    assert "<script" not in overview  # the charts are drawn on the server

    listed = client.get("/dashboard/calls/").get_data(as_text=True)
    assert "3 calls" in listed and "+15550009999" not in listed
    resolved = client.get("/dashboard/calls/?outcome=resolved&language=de").get_data(as_text=True)
    assert "1 call" in resolved and "+4930123456" in resolved
    by_number = client.get("/dashboard/calls/?number=%2B49 30").get_data(as_text=True)
    assert "1 call" in by_number
    today = utcnow().date().isoformat()
    recent = client.get(f"/dashboard/calls/?since={today}").get_data(as_text=True)
    assert "2 calls" in recent
    bad = client.get("/dashboard/calls/?since=yesterday&number=abc")
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "Not a valid date value." in page and "Digits only" in page
    assert 'aria-invalid="true"' in page

    detail = client.get(f"/dashboard/calls/{handed}").get_data(as_text=True)
    assert "Where is order 1042?" in detail and "It was shipped on November 20." in detail
    assert "order_status" in detail and "Handed off" in detail
    assert detail.count('class="stage-') >= 8  # four stages in the legend, four bars
    assert f'src="/dashboard/calls/{handed}/recording.wav"' in detail
    audio = client.get(f"/dashboard/calls/{handed}/recording.wav")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"

    edge = client.get("/dashboard/calls/?until=9999-12-31&since=0001-01-01")
    assert edge.status_code == 400 and "Choose a day between 1970 and 9998." in edge.get_data(
        as_text=True
    )
    odd = client.get("/dashboard/calls/?_external=1&_anchor=x&page=1").get_data(as_text=True)
    assert "3 calls" in odd  # arguments url_for would take as its own are not passed on
    wrong = client.get("/dashboard/calls/abc")  # no view takes it: a page, not the API's JSON
    assert wrong.status_code == 404 and wrong.mimetype == "text/html"
    assert "This page does not exist, or it is not yours." in wrong.get_data(as_text=True)

    assert client.get(f"/dashboard/calls/{theirs}").status_code == 404  # another merchant's
    assert client.get(f"/dashboard/calls/{theirs}/recording.wav").status_code == 404
    assert client.get("/dashboard/calls/99999999999").status_code == 404
