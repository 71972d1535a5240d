"""Webhooks from shop platforms (Shopify, WooCommerce): verified, deduplicated, idempotent.

Every plugin that takes a platform's webhooks goes through :func:`receive`:

* the merchant's signing secret is the host credential ``shopify.webhook_secret``
  or ``woocommerce.webhook_secret`` - one per platform, shared by every plugin;
* the signature is the base64 HMAC-SHA256 of the raw body
  (``X-Shopify-Hmac-Sha256`` / ``X-WC-Webhook-Signature``); a missing secret or a
  bad signature gets 401;
* the topic must be one the endpoint handles (400 otherwise);
* the delivery id is recorded in the plugin's own deliveries table in the same
  transaction as the change, so a repeated delivery changes nothing and is
  answered ``duplicate``.

WooCommerce's unsigned ping, sent when a webhook is created, is answered by
:func:`pong`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import String, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from merchant_voice import extensions
from merchant_voice.customers import CustomerContacts, RedactedCustomer
from merchant_voice.errors import BadRequest, Unauthorized, ValidationFailed
from merchant_voice.orm import UTCDateTime, utcnow
from merchant_voice.tenancy import TenantSession
from merchant_voice.web.hooks import merchant_session

_PING = re.compile(rb"^webhook_id=\d+$")
_PLATFORM_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class Platform:
    name: str
    signature_header: str
    delivery_headers: tuple[str, ...]  # the first one present names the delivery
    topic_header: str

    @property
    def secret(self) -> str:
        """The host credential holding the merchant's signing secret for this platform."""
        return f"{self.name}.webhook_secret"


# Shopify's X-Shopify-Event-Id is the same for every delivery of one event (retries too).
SHOPIFY = Platform(
    "shopify",
    "X-Shopify-Hmac-Sha256",
    ("X-Shopify-Event-Id", "X-Shopify-Webhook-Id"),
    "X-Shopify-Topic",
)
WOOCOMMERCE = Platform(
    "woocommerce", "X-WC-Webhook-Signature", ("X-WC-Webhook-Delivery-ID",), "X-WC-Webhook-Topic"
)
SECRETS = (SHOPIFY.secret, WOOCOMMERCE.secret)


class DeliveryRecord:
    """Columns of a plugin's deliveries table (mix into a ``MerchantOwned, Base`` model):
    unique on (merchant, source, delivery id), so a repeated delivery is recognised."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[UniqueConstraint]:
        return (UniqueConstraint("merchant_id", "source", "delivery_id"),)  # one per table

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass
class Delivery:
    session: TenantSession
    platform: Platform
    topic: str
    action: str
    delivery_id: str
    payload: dict[str, Any]
    duplicate: bool = False


def signed(secret: str, body: bytes, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return bool(signature) and hmac.compare_digest(expected, signature.encode("latin-1", "replace"))


def pong(slug: str, plugin: str) -> Response | None:
    """The answer to WooCommerce's unsigned ``webhook_id=N``, sent when a webhook is set up
    (None for any other request). An unknown merchant still gets 404."""
    if WOOCOMMERCE.signature_header in request.headers or not _PING.match(request.get_data()):
        return None
    merchant_session(slug, plugin).close()
    return jsonify(status="pong")


def platform_id(value: Any, field: str) -> str:
    """A platform's id for one of its objects (a number, or a short token), as text;
    anything else is refused naming ``field``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return str(value)
    if isinstance(value, str) and _PLATFORM_ID.match(value):
        return value
    message = "must be the platform's id: a number, or up to 40 letters, digits, - or _"
    raise ValidationFailed(f"{field}: {message}", [{"field": field, "message": message}])


def _payload(body: bytes, required: str) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the webhook body is not JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(
            "the webhook body is not JSON this host reads: too deeply nested"
        ) from None
    if not isinstance(payload, dict) or required not in payload:
        raise ValidationFailed(f"the webhook body has no {required!r}")
    if required == "id":
        payload["id"] = platform_id(payload["id"], "id")
    return payload


@contextmanager
def receive(
    slug: str,
    plugin: str | None,
    platform: Platform,
    topics: Mapping[str, str],
    record: Callable[..., DeliveryRecord] | None,
    required: str = "id",
) -> Iterator[Delivery]:
    """A verified delivery for ``plugin``'s endpoint; ``topics`` maps topic -> action.

    With ``record`` (the plugin's deliveries model) the delivery is recorded in
    the session; a repeat comes back with ``duplicate=True`` and a clean session.
    The caller commits.
    """
    body = request.get_data()
    headers = request.headers
    with merchant_session(slug, plugin) as session:
        secret = extensions.credentials().get(session.merchant.id, platform.secret)
        if not secret:
            raise Unauthorized(
                f"no {platform.name} webhook secret is set for {slug!r}: PUT /api/v1/credentials/"
                f"{platform.secret}, or flask --app app credentials set {slug} {platform.secret}"
            )
        if not signed(secret, body, headers.get(platform.signature_header, "")):
            raise Unauthorized(f"the {platform.name} webhook signature does not match")
        topic = headers.get(platform.topic_header, "")
        action = topics.get(topic)
        if action is None:
            raise BadRequest(f"unsupported webhook topic {topic[:60]!r} here")
        found = [headers.get(name, "") for name in platform.delivery_headers]
        delivery_id = next((value for value in found if value), "")[:100]
        if not delivery_id:
            raise BadRequest(f"the {platform.delivery_headers[-1]} header is missing")
        delivery = Delivery(session, platform, topic, action, delivery_id, _payload(body, required))
        if record is not None:
            session.add(record(source=platform.name, delivery_id=delivery_id, topic=topic))
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                delivery.duplicate = True
        yield delivery


bp = Blueprint("shop_hooks", __name__, url_prefix="/hooks")


@bp.post("/shopify/<merchant>/customers/redact")
def shopify_customers_redact(merchant: str) -> Response:
    """Shopify's ``customers/redact``: every enabled plugin forgets the customer
    (``customer_contacts``, then ``customer_redacted``). Idempotent: a repeat finds
    nothing left."""
    topics = {"customers/redact": "redact"}
    with receive(merchant, None, SHOPIFY, topics, None, "customer") as delivery:
        payload = delivery.payload
        customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
        assert isinstance(customer, dict)
        orders = payload.get("orders_to_redact")
        redacted = RedactedCustomer(
            platform=SHOPIFY.name,
            phones=tuple(p for p in [customer.get("phone")] if isinstance(p, str) and p),
            emails=tuple(e for e in [customer.get("email")] if isinstance(e, str) and e),
            order_ids=tuple(
                f"{SHOPIFY.name}:{o}" for o in (orders if isinstance(orders, list) else [])
            ),
        )
        manager = extensions.plugin_manager()
        known = manager.call(  # what any plugin keeps of them, switched on for them or not
            "customer_contacts", session=delivery.session, customer=redacted, every_plugin=True
        )
        redacted = redacted.with_contacts(
            [contacts for contacts in known.values() if isinstance(contacts, CustomerContacts)]
        )
        results = manager.call("customer_redacted", session=delivery.session, customer=redacted)
        delivery.session.commit()
    return jsonify(status="redacted", plugins=results)
