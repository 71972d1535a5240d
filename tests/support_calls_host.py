"""A live host for whole calls: a threaded HTTP server, shops, orders, catalog, caller speech.

The caller's words are spoken by the real Piper voice and sent as 8 kHz µ-law,
in real time, by :class:`~plugins.support_calls.telephony.caller.TwilioCaller`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from engines.audio import Audio, resample, to_mulaw
from engines.tts import Synthesizer
from merchant_voice.customers import phone_key
from merchant_voice.migrate import Migrations
from plugins.catalog.models import Listing, Variant
from plugins.orders.models import Order, postcode_key
from plugins.support_calls.models import Call
from plugins.support_calls.telephony.caller import TwilioCaller, call_sid, place_call
from tests.conftest import Shop, app_config, make_shop
from tests.engines_fixtures import MODELS_CACHE

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"


def speech(tts: Synthesizer, text: str) -> bytes:
    """``text`` in the bundled voice, as a phone line carries it."""
    chunks = list(tts.synthesize(text, "en_US"))
    audio = Audio(np.concatenate([c.audio.samples for c in chunks]), chunks[0].audio.rate)
    return to_mulaw(resample(audio, 8_000).samples)


@dataclass
class PhoneHost:
    app: Flask
    server: BaseWSGIServer
    url: str
    shops: dict[str, Shop]
    calls_made: int = 0

    def call(self, slug: str, caller: str = "+15550199") -> TwilioCaller:
        self.calls_made += 1
        sid = call_sid(self.calls_made)
        answer = place_call(self.url, slug, AUTH_TOKEN, sid, caller, "+15550000")
        return TwilioCaller(answer.stream_url, sid)

    def settle(self, slug: str, sid: str, timeout: float = 30.0) -> Call:
        """The call's row once its stream has closed (it has an outcome), turns loaded."""
        db = self.app.extensions["db"]
        deadline = time.monotonic() + timeout
        while True:
            with db.tenant_session(self.shops[slug].merchant) as session:
                call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
                list(call.turns)
                session.expunge_all()
            if call.outcome is not None or time.monotonic() > deadline:
                return call
            time.sleep(0.1)

    def add_shop(self, slug: str, **fields: Any) -> Shop:
        """Another merchant, set up for calls."""
        shop = self.shops[slug] = make_shop(self.app, slug, **fields)
        self.app.extensions["credentials"].set(
            shop.id, "support_calls.twilio_auth_token", AUTH_TOKEN
        )
        return shop

    def configure(self, slug: str, **values: Any) -> None:
        db, manager = self.app.extensions["db"], self.app.extensions["plugins"]
        with db.tenant_session(self.shops[slug].merchant) as session:
            manager.configure(session, "support_calls", values)
            session.commit()


def start_host(
    tmp: Path, database_url: str, chat_url: str, **sections: dict[str, Any]
) -> Iterator[PhoneHost]:
    config = app_config(
        tmp,
        database_url,
        chat={"url": chat_url, "timeout_s": 30.0},
        models={"cache_dir": str(MODELS_CACHE)},
        **sections,
    )
    app = create_app(config)
    Migrations(app.extensions["db"], app.extensions["plugins"]).upgrade()
    engines = app.extensions["engines"]
    engines.call_asr.load()
    engines.tts.warm()
    shops = {
        "acme": make_shop(app, "acme", name="Acme Outdoor", default_locale="en_US"),
        "globex": make_shop(app, "globex", name="Globex", default_locale="en_US"),
    }
    for shop in shops.values():
        app.extensions["credentials"].set(shop.id, "support_calls.twilio_auth_token", AUTH_TOKEN)
    _seed(app, shops)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = PhoneHost(app, server, f"http://127.0.0.1:{server.server_port}", shops)
    for slug in shops:  # the model's path, on questions: the default (small talk) has its own
        host.configure(slug, model_answers="all")  # tests in test_support_calls_grounding
    yield host
    server.shutdown()
    app.extensions["jobs"].stop_workers(timeout_s=5)
    app.extensions["db"].dispose()


def trail_backpack() -> Listing:
    """The catalog listing calls ask about (and bench/calls.py's merchant sells)."""
    return _listing("trail-backpack", "Trail Backpack", "89.00")


def _listing(handle: str, title: str, price: str) -> Listing:
    return Listing(
        handle=handle,
        title=title,
        price=Decimal(price),
        currency="USD",
        source="api",
        in_stock=True,
        stock_quantity=12,
    )


def _order(number: str, status: str, phone: str, postcode: str, **fields: Any) -> Order:
    return Order(
        number=number,
        status=status,
        currency="USD",
        phone=phone,
        phone_key=phone_key(phone),
        postcode=postcode,
        postcode_key=postcode_key(postcode),
        **fields,
    )


def acme_records() -> list[Order | Listing]:
    """What the calls' merchant "acme" has: orders 1042 (shipped, the caller's own phone)
    and 2051 (processing), the trail backpack, and the trail shirt in two sizes (also
    bench/call_set.py's shop)."""
    shirt = _listing("trail-shirt", "Trail Shirt", "35.00")
    for position, (size, quantity) in enumerate([("Medium", 12), ("Large", 0)]):
        shirt.variants.append(
            Variant(
                title=size,
                options={"Size": size},
                price=Decimal("35.00"),
                in_stock=quantity > 0,
                stock_quantity=quantity,
                position=position,
            )
        )
    shipped = _order(
        "1042",
        "shipped",
        "+1 555 0100",
        "90210",
        carrier="UPS",
        shipped_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        estimated_delivery=date(2026, 11, 26),
        tracking_numbers=["1Z999AA10123456784"],
    )
    return [shipped, _order("2051", "processing", "+1 555 0177", "10001"), trail_backpack(), shirt]


def other_merchants_order() -> Order:
    """The order of another merchant ("globex") that no call of acme's may reveal."""
    return _order("7777", "delivered", "+1 555 0999", "12345")


def _seed(app: Flask, shops: dict[str, Shop]) -> None:
    db = app.extensions["db"]
    with db.tenant_session(shops["acme"].merchant) as session:
        session.add_all(acme_records())
        session.commit()
    with db.tenant_session(shops["globex"].merchant) as session:
        session.add(other_merchants_order())
        session.commit()
