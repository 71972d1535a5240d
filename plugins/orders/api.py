"""``/api/v1/orders``: the merchant's system creates and updates orders (PUT is idempotent).

``estimated_delivery`` (also accepted as ``eta``) is the day the order should
arrive: a date (``2026-11-25``), or a date and time whose date, as written, is
taken (``2026-11-25T18:00:00-05:00`` is November 25).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import Response
from pydantic import AfterValidator, AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from merchant_voice.plugin_api import (
    ApiBlueprint,
    Conflict,
    NotFound,
    ValidationFailed,
    normalize_currency,
    phone_key,
    query_int,
    render,
    tenant_session,
)
from plugins.orders.models import Order, postcode_key

bp = ApiBlueprint("orders", __name__, plugin="orders")

Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Status = Literal[
    "pending",
    "on-hold",
    "processing",
    "paid",
    "partially_shipped",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
    "refunded",
    "failed",
]
NUMBER = r"^#?[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$"


def _number(value: str) -> str:
    return value.removeprefix("#")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-11-22T10:00:00Z")
    return value


Moment = Annotated[datetime | None, AfterValidator(_aware)]


def _day(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 10:  # a date and time: its date, as written
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            raise ValueError("must be a date, e.g. 2026-11-25, or a date and time") from None
    return value


Day = Annotated[date | None, BeforeValidator(_day)]


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(None, max_length=100)
    title: str = Field(min_length=1, max_length=500)
    quantity: int = Field(1, ge=1, le=1_000_000)
    price: Price | None = None


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, Field(pattern=NUMBER), AfterValidator(_number)]
    status: Status
    customer_name: str = Field("", max_length=200)
    email: str = Field("", max_length=320, pattern=r"^$|^[^@\s]+@[^@\s]+$")
    phone: str = Field("", max_length=40, pattern=r"^[0-9+() ./-]*$")
    postcode: str = Field("", max_length=20)
    total: Price | None = None
    currency: Annotated[str, AfterValidator(normalize_currency)] | None = None
    items: list[OrderItem] = Field(default_factory=list, max_length=500)
    carrier: str = Field("", max_length=100)
    tracking_numbers: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20
    )
    tracking_urls: list[Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000)]] = Field(
        default_factory=list, max_length=20
    )
    placed_at: Moment = None
    shipped_at: Moment = None
    estimated_delivery: Day = Field(
        None,
        validation_alias=AliasChoices("estimated_delivery", "eta"),
        description="the day it should arrive (also taken as eta): a date, or a date and time",
    )


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    source: str
    status: str
    customer_name: str
    email: str
    phone: str
    postcode: str
    total: Decimal | None
    currency: str
    items: list[dict[str, Any]]
    carrier: str
    tracking_numbers: list[str]
    tracking_urls: list[str]
    placed_at: datetime | None
    shipped_at: datetime | None
    estimated_delivery: date | None
    created_at: datetime
    updated_at: datetime


class OrderPage(BaseModel):
    orders: list[OrderOut]
    total: int


def _find(number: str) -> Order | None:
    return tenant_session().scalars(select(Order).where(Order.number == _number(number))).first()


def apply_order(order: Order, body: OrderIn, default_currency: str) -> None:
    """Write a validated order (from the API or a platform's webhook) onto its row."""
    values = body.model_dump(mode="python", exclude={"currency", "items"})
    for key, value in values.items():
        setattr(order, key, value)
    order.items = [item.model_dump(mode="json") for item in body.items]
    order.currency = body.currency or default_currency
    order.phone_key = phone_key(body.phone)
    order.postcode_key = postcode_key(body.postcode)


def _apply(order: Order, body: OrderIn) -> None:
    apply_order(order, body, tenant_session().merchant.currency)


@bp.operation(
    "/orders", "POST", summary="Add an order", body=OrderIn, response=OrderOut, status=201
)
def create_order(body: OrderIn) -> OrderOut:
    session = tenant_session()
    order = Order(source="api")
    _apply(order, body)
    session.add(order)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"order {body.number} exists: PUT /api/v1/orders/{body.number}") from None
    return OrderOut.model_validate(order)


@bp.operation(
    "/orders/<path:number>",
    "PUT",
    summary="Create or replace an order by its number (idempotent)",
    body=OrderIn,
    response=OrderOut,
)
def put_order(number: str, body: OrderIn) -> Response:
    if _number(number) != body.number:
        message = f"must match the URL's order number {_number(number)!r}"
        raise ValidationFailed(f"number: {message}", [{"field": "number", "message": message}])
    session = tenant_session()
    order = _find(number)
    created = order is None
    if order is None:
        order = Order(source="api")
        session.add(order)
    _apply(order, body)
    try:
        session.commit()
    except IntegrityError:  # created by a concurrent request: one of the two wins
        session.rollback()
        raise Conflict(f"order {body.number} was created meanwhile; send the PUT again") from None
    return render(OrderOut.model_validate(order), 201 if created else 200)


@bp.operation("/orders/<path:number>", "GET", summary="One order", response=OrderOut)
def get_order(number: str) -> OrderOut:
    order = _find(number)
    if order is None:
        raise NotFound(f"no order {_number(number)!r}")
    return OrderOut.model_validate(order)


@bp.operation("/orders", "GET", summary="The merchant's orders, newest first", response=OrderPage)
def list_orders() -> OrderPage:
    session = tenant_session()
    limit = query_int("limit", 50, 1, 500)
    rows = session.scalars(select(Order).order_by(Order.id.desc()).limit(limit))
    return OrderPage(
        orders=[OrderOut.model_validate(row) for row in rows],
        total=session.scalar(select(func.count(Order.id))) or 0,
    )
