"""The support-calls dashboard: the overview's call figures and charts, the calls list
with its filters, and a call's turns, tool calls, stage timeline and recording; another
merchant's call is not there, whatever its id."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from merchant_voice.orm import utcnow
from tests.conftest import Shop
from tests.dashboard_client import add_call, add_user, sign_in


def test_agents_see_their_calls_filtered_with_turns_timeline_and_recording(
    app: Flask, shop_a: Shop, shop_b: Shop
) -> None:
    handed = add_call(app, shop_a.merchant, 1, recorded=True, outcome="handed_off", language="en")
    add_call(app, shop_a.merchant, 2, outcome="resolved", language="de", caller="+4930123456")
    add_call(
        app,
        shop_a.merchant,
        3,
        outcome="resolved",
        language="en",
        started_at=utcnow() - timedelta(days=30),
    )
    theirs = add_call(app, shop_b.merchant, 4, outcome="resolved", caller="+15550009999")
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
    assert "Is the organic hoodie in stock?" in detail and "in every size." in detail
    assert "product_info" in detail and "Handed off" in detail
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
