"""The ``order_status`` call tool: where an order is, told only to a verified caller.

A caller is verified for an order when the number they call from matches the
order's phone, or when they say the order number and then the delivery
postcode. Until then nothing about the order is said - not even whether it
exists: an unknown number and a wrong postcode get the same words. Orders are
read through the merchant's session, so another merchant's order number is
simply unknown.

A verified caller hears the status, with the shipping day and carrier, and the
day it should arrive (``estimated_delivery``); the tracking number only when
they ask for it ("what's the tracking number?" - remembered until they are
verified), read character by character in groups. Dates are said for the call's
locale, on the merchant's calendar (its time zone). Once verified, the order is
the call's: a follow-up that names no order number is about it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from merchant_voice.plugin_api import (
    CallState,
    CallTool,
    PluginSettings,
    ToolContext,
    ToolResult,
    compact,
    fold,
    normalized_digits,
    phone_key,
    spoken_code,
    spoken_date,
)
from plugins.orders.models import Order

MAX_ATTEMPTS = 3
_NUMBER = re.compile(r"\d(?:[\s.-]?\d){2,}")

# Status -> the sentence after "Order 1 0 4 2 ..."; {date} and {carrier} are filled in.
_STATUS = {
    "pending": "is waiting for payment.",
    "on-hold": "is on hold. A colleague will be in touch about it.",
    "processing": "is being prepared for shipping.",
    "paid": "is paid and being prepared for shipping.",
    "partially_shipped": "has been partly shipped{on_date}{with_carrier}.",
    "shipped": "was shipped{on_date}{with_carrier}.",
    "delivered": "was delivered.",
    "completed": "is complete and was delivered.",
    "cancelled": "was cancelled.",
    "refunded": "was refunded.",
    "failed": "did not go through: the payment failed.",
}


def _language(state: CallState) -> str:
    return state.locale.split("_")[0]


def extract(utterance: str, state: CallState) -> dict[str, Any]:
    if state.scratch.get("order_status", {}).get("asked"):  # the answer to "your postcode?"
        return {"order_number": None, "postcode": spoken_postcode(utterance, _language(state))}
    match = _NUMBER.search(normalized_digits(utterance, _language(state)))
    number = re.sub(r"\D", "", match.group(0)) if match else None
    return {"order_number": number, "postcode": None}


def _find(ctx: ToolContext[PluginSettings], number: str) -> Order | None:
    return ctx.session.scalars(select(Order).where(Order.number == number)).first()


def _by_caller(ctx: ToolContext[PluginSettings]) -> Order | None:
    key = phone_key(ctx.state.caller)
    if not key:
        return None
    return ctx.session.scalars(
        select(Order).where(Order.phone_key == key).order_by(Order.id.desc())
    ).first()


def _caller_matches(ctx: ToolContext[PluginSettings], order: Order) -> bool:
    key = phone_key(ctx.state.caller)
    return bool(key) and order.phone_key == key


# Short words that are not a code's letters: "is", "my", and fillers ("um", "so", "ok")
NOT_LETTERS = frozenset({
    "IS", "IT", "MY", "OF", "TO", "IN", "ON", "AT", "ME", "SO", "OK", "NO", "OR", "AN", "BE",
    "DO", "WE", "UP", "ES", "IST", "DE", "LA", "LE", "EL", "EM", "JA", "NE", "SI", "SÍ",
    "UM", "UH", "ER", "AH", "EH", "HM", "MM", "ÄH", "ÖH", "EUH",
})  # fmt: skip


def _code_part(token: str) -> str:
    """The token as part of a code: digits, or one or two letters that are not a word
    ("is") or a filler ("um"); "" for anything else, which ends a code."""
    if token.strip(".,;:!?'\"").upper() in NOT_LETTERS:
        return ""
    part = compact(token)
    if any(ch.isdigit() for ch in part) or (len(part) <= 2 and part.isalpha()):
        return part
    return ""


def spoken_postcode(words: str, language: str = "en") -> str:
    """The postcode in the caller's words, compacted: a run of tokens holding digits, with
    short letter groups among and beside them ("S W 1 A 1 A A"). Words and fillers end a
    run ("um, nine four one zero three"). Of several runs, the last is the code: said
    again ("zero two two, hey, zero two two") or corrected ("three five nine, sorry, five
    nine two"), unless it is the end of an earlier one (said again, its start unheard);
    a run that is one code said twice in a row is that code."""
    runs: list[list[str]] = [[]]
    for token in normalized_digits(words, language).replace(",", " ").split():
        if part := _code_part(token):
            runs[-1].append(part)
        elif runs[-1]:
            runs.append([])
    codes = ["".join(run) for run in runs if any(ch.isdigit() for part in run for ch in part)]
    if not codes:
        return ""
    code = codes[-1]
    code = next((c for c in codes[:-1] if len(c) > len(code) and c.endswith(code)), code)
    half = len(code) // 2
    return code[:half] if len(code) % 2 == 0 and code[:half] == code[half:] else code


def _postcode_said(ctx: ToolContext[PluginSettings], order: Order | None) -> bool:
    if order is None or not order.postcode_key:
        return False
    given = compact(ctx.arguments.get("postcode") or "")
    return order.postcode_key in (spoken_postcode(ctx.utterance, _language(ctx.state)), given)


_ON_ITS_WAY = frozenset(
    ["pending", "on-hold", "processing", "paid", "partially_shipped", "shipped"]
)
_TRACKING = re.compile(
    r"(?<!\w)(tracking|sendungsnummer|sendungsverfolgung|suivi|seguimiento|rastreo|tracciamento)"
)


def asks_tracking(utterance: str) -> bool:
    """Whether the caller asks for the tracking number ("what's the tracking number?")."""
    return _TRACKING.search(fold(utterance)) is not None


def _local(ctx: ToolContext[PluginSettings], moment: datetime) -> datetime:
    """The moment on the merchant's calendar: the day it was there."""
    try:
        return moment.astimezone(ZoneInfo(ctx.session.merchant.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment


def status_sentence(ctx: ToolContext[PluginSettings], order: Order) -> str:
    _ = ctx.gettext
    locale = ctx.state.locale
    on_date = with_carrier = ""
    if order.shipped_at is not None:
        day = spoken_date(_local(ctx, order.shipped_at), locale)
        on_date = _(" on {date}").format(date=day)
    if order.carrier:
        with_carrier = _(" with {carrier}").format(carrier=order.carrier)
    template = _STATUS.get(order.status, "has the status {status}.")
    tail = _(template).format(on_date=on_date, with_carrier=with_carrier, status=order.status)
    said = _("Order {number} {tail}").format(number=spoken_code(order.number), tail=tail)
    if order.estimated_delivery is not None and order.status in _ON_ITS_WAY:
        day = spoken_date(order.estimated_delivery, locale)
        said += " " + _("It should arrive on {date}.").format(date=day)
    return said


def tracking_sentence(ctx: ToolContext[PluginSettings], order: Order) -> str:
    """The tracking number, in groups ("1 Z 9, 9 9 A, ..."); the first of several."""
    _ = ctx.gettext
    numbers = order.tracking_numbers
    if not numbers:
        return _("There is no tracking number for it.")
    code = spoken_code(numbers[0], group=3)
    if len(numbers) == 1:
        return _("The tracking number is {code}.").format(code=code)
    return _("It has {count} tracking numbers. The first is {code}.").format(
        count=len(numbers), code=code
    )


def _verified(ctx: ToolContext[PluginSettings], order: Order, how: str) -> ToolResult:
    tracking = bool(ctx.state.scratch.get("order_status", {}).get("tracking"))
    ctx.state.verified_orders.add(order.number)
    ctx.state.expecting = None
    ctx.state.scratch["order_status"] = {"number": order.number, "asked": False}  # the call's
    eta = order.estimated_delivery
    data: dict[str, Any] = {
        "order_number": order.number,
        "verified_by": how,
        "status": order.status,
        "carrier": order.carrier,
        "shipped_at": order.shipped_at.isoformat() if order.shipped_at else None,
        "estimated_delivery": eta.isoformat() if eta else None,
        "items": [item.get("title") for item in order.items][:5],
    }
    say = status_sentence(ctx, order)
    if tracking:
        data["tracking_numbers"] = order.tracking_numbers[:3]
        say += " " + tracking_sentence(ctx, order)
    return ToolResult(data, say=say, answer=False)


def run(ctx: ToolContext[PluginSettings]) -> ToolResult:
    _ = ctx.gettext
    scratch = ctx.state.scratch.setdefault("order_status", {})
    number = ctx.arguments.get("order_number")
    if number and number != scratch.get("number"):
        tracking = scratch.get("tracking", False)
        scratch.clear()
        scratch.update(number=number, asked=False, tracking=tracking)
    if asks_tracking(ctx.utterance):
        scratch["tracking"] = True  # said once the caller is verified
    number = scratch.get("number")
    if ctx.state.scratch.get("postcode_failures", 0) >= MAX_ATTEMPTS:
        return ToolResult(
            {"verified": False, "locked": True},
            say=_(
                "I'm sorry, I can't check orders on this call. "
                "Say 'agent' if you would like to speak to a colleague."
            ),
            answer=False,
        )
    if not number:
        order = _by_caller(ctx)
        if order is not None:
            return _verified(ctx, order, "caller_number")
        return ToolResult(
            {"asked_for": "order_number"},
            say=_ask(ctx, _("Sure. What is your order number?")),
            answer=False,
        )
    order = _find(ctx, number)
    if order is not None and (number in ctx.state.verified_orders or _caller_matches(ctx, order)):
        return _verified(ctx, order, "caller_number")
    if _postcode_said(ctx, order):
        assert order is not None
        return _verified(ctx, order, "postcode")
    if not scratch["asked"]:
        scratch["asked"] = True
        question = _(
            "To check order {number}, please tell me the postcode of the delivery address."
        ).format(number=spoken_code(number))
        return ToolResult(
            {"asked_for": "postcode", "order_number": number},
            say=_ask(ctx, question),
            answer=False,
        )
    failures = ctx.state.scratch["postcode_failures"] = (
        ctx.state.scratch.get("postcode_failures", 0) + 1
    )
    if failures >= MAX_ATTEMPTS:  # for the whole call, whatever order numbers are tried
        ctx.state.expecting = None
        return ToolResult(
            {"verified": False, "order_number": number},
            say=_(
                "I'm sorry, I could not verify that order. "
                "Say 'agent' if you would like to speak to a colleague."
            ),
            answer=False,
        )
    heard = spoken_postcode(ctx.utterance, _language(ctx.state))
    heard = heard or compact(ctx.arguments.get("postcode") or "")
    again = _("That does not match order {number}. Please say the delivery postcode again.")
    again = again.format(number=spoken_code(number))
    if heard:  # read back: a misheard digit is the caller's to notice
        again = _("I heard {code}.").format(code=spoken_code(heard)) + " " + again
    return ToolResult(
        {"verified": False, "order_number": number, "heard": heard},
        say=_ask(ctx, again),
        answer=False,
    )


def _ask(ctx: ToolContext[PluginSettings], question: str) -> str:
    """Ask for a code; the caller may also key it in (said once per call)."""
    hint = ctx.gettext("You can also key it in on your phone, then press the hash key.")
    return ctx.state.ask_for_code("order_status", question, hint)


ORDER_STATUS: CallTool[PluginSettings] = CallTool(
    name="order_status",
    description="Where a caller's order is. Needs the order number; verifies the caller first.",
    parameters={
        "type": "object",
        "properties": {
            "order_number": {"type": ["string", "null"], "description": "as the caller said it"},
            "postcode": {"type": ["string", "null"], "description": "delivery postcode"},
        },
        "required": ["order_number", "postcode"],
    },
    run=run,
    extract=extract,
    keypad=True,  # digits typed out of the blue: an order number
    priority=1,  # "was the backpack delivered?" is about an order, not the product
    keywords=(
        "order", "package", "parcel", "delivery", "delivered", "shipped", "tracking",
        "where is my", "bestellung", "paket", "lieferung", "sendung", "commande", "colis",
        "pedido", "paquete", "ordine", "pacco", "bestelling", "pakket",
    ),
)  # fmt: skip
