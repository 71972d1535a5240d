"""The ``product_info`` call tool: a product from the merchant's catalog, its price and stock.

The caller's words are matched against listing titles (words of three letters
or more, common words left out); the listing sharing the most words wins, and
is the one a follow-up that names no product ("do you have it in medium?") is
about. Where the variants carry stock it is said per option, for the options
the caller named only (:mod:`plugins.catalog.availability`); otherwise the
listing's own stock is said.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from merchant_voice.plugin_api import (
    CallState,
    CallTool,
    PluginSettings,
    ToolContext,
    ToolResult,
    fold,
    spoken_money,
)
from plugins.catalog.availability import asked_variants, has_stock, label, per_option
from plugins.catalog.models import Listing

MAX_TITLES = 50_000
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_COMMON = frozenset(
    [
        "the",
        "and",
        "for",
        "you",
        "your",
        "have",
        "has",
        "does",
        "did",
        "can",
        "could",
        "would",
        "how",
        "much",
        "many",
        "what",
        "which",
        "with",
        "this",
        "that",
        "there",
        "any",
        "are",
        "sell",
        "cost",
        "costs",
        "price",
        "stock",
        "available",
        "about",
        "tell",
        "still",
        "left",
        "store",
        "shop",
        "want",
        "like",
        "need",
        "please",
        "hello",
        "thanks",
        "thank",
        "der",
        "die",
        "das",
        "und",
        "ist",
        "sie",
        "haben",
        "gibt",
        "wie",
        "viel",
        "kostet",
        "ein",
        "eine",
        "les",
        "des",
        "est",
        "une",
        "pour",
        "avez",
        "combien",
        "los",
        "las",
        "una",
        "por",
        "cuanto",
        "tienen",
    ]
)


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(fold(text)) if w not in _COMMON]


def extract(utterance: str, _state: CallState) -> dict[str, Any]:
    return {"query": utterance}


def search(ctx: ToolContext[PluginSettings], query: str) -> Listing | None:
    """The listing whose title shares most words with ``query`` (accents and case aside).

    Titles are compared in Python, not with SQL LIKE, which folds neither accents
    nor, on SQLite, non-ASCII case; a catalog's titles are a few hundred KB at most.
    """
    words = _words(query)
    if not words:
        return None
    stems = {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words}
    best, best_score = None, 0.0
    for listing_id, title in ctx.session.execute(
        select(Listing.id, Listing.title).limit(MAX_TITLES)
    ):
        folded = fold(title)
        joined = "".join(folded.split())  # "TrailShirt", as speech recognition may write it
        hits = sum(1 for stem in stems if stem in folded or (len(stem) > 5 and stem in joined))
        score = hits / (1 + 0.1 * len(_words(title)))
        if score > best_score:
            best, best_score = listing_id, score
    return ctx.session.get(Listing, best) if best is not None else None


def _stock_sentence(ctx: ToolContext[PluginSettings], listing: Listing) -> str:
    _ = ctx.gettext
    if listing.stock_quantity is not None:
        if listing.stock_quantity <= 0:
            return _("It is out of stock at the moment.")
        return _("We have {count} in stock.").format(count=listing.stock_quantity)
    if listing.in_stock is not None:
        return _("It is in stock.") if listing.in_stock else _("It is out of stock at the moment.")
    return ""


def _find(ctx: ToolContext[PluginSettings]) -> Listing | None:
    """The listing the caller asks about; the call's last one when their words name none
    ("do you have it in medium?")."""
    scratch = ctx.state.scratch.setdefault("product_info", {})
    query = str(ctx.arguments.get("query") or ctx.utterance)
    listing = search(ctx, query)
    if listing is None and scratch.get("listing_id") is not None:
        last = ctx.session.get(Listing, scratch["listing_id"])  # unless another one is named:
        if last is not None and (asked_variants(last.variants, query) or not _words(query)):
            listing = last  # "do you sell umbrellas?" is not about the backpack
    if listing is not None:
        scratch["listing_id"] = listing.id
    return listing


def run(ctx: ToolContext[PluginSettings]) -> ToolResult:
    _ = ctx.gettext
    listing = _find(ctx)
    if listing is None:
        return ToolResult(
            {"found": False},
            say=_("I could not find that product in our catalog. Which product do you mean?"),
            answer=False,
        )
    asked = asked_variants(listing.variants, ctx.utterance)
    prices = {variant.price for variant in asked if variant.price is not None}
    amount = prices.pop() if len(prices) == 1 else listing.price
    if amount is not None:
        price = spoken_money(amount, listing.currency, ctx.state.locale)
        sentences = [_("The {title} costs {price}.").format(title=listing.title, price=price)]
    else:
        sentences = [_("We have the {title}.").format(title=listing.title)]
    if has_stock(listing.variants):  # stock per option, the options asked about only
        sentences.append(per_option(ctx.gettext, asked or listing.variants))
    elif stock := _stock_sentence(ctx, listing):
        sentences.append(stock)
    options = sorted({v for variant in listing.variants for v in variant.options.values()})
    data = {
        "title": listing.title,
        "price": str(listing.price) if listing.price is not None else None,
        "currency": listing.currency,
        "in_stock": listing.in_stock,
        "stock_quantity": listing.stock_quantity,
        "options": options[:12],
        "variants": [
            {"option": label(v), "in_stock": v.in_stock, "stock_quantity": v.stock_quantity}
            for v in (asked or listing.variants)[:12]
        ],
        "bullet_points": listing.bullet_points[:5],
    }
    return ToolResult(data, say=" ".join(sentences), answer=False)  # the facts are the answer


PRODUCT_INFO: CallTool[PluginSettings] = CallTool(
    name="product_info",
    description="A product from the catalog: its price, stock and options.",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string", "description": "the product asked about"}},
        "required": ["query"],
    },
    run=run,
    extract=extract,
    keywords=(
        "price", "cost", "how much", "in stock", "stock", "available", "do you sell",
        "do you have", "product", "size", "colour", "color", "preis", "kostet", "vorrat",
        "lieferbar", "prix", "combien", "disponible", "precio", "cuanto", "prezzo",
    ),
)  # fmt: skip
