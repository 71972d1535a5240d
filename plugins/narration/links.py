"""Signed links to a narration's audio and captions, for storefronts: no API key needed,
good for one merchant's one narration, until they expire.

``GET /media/narrations/<token>/audio.ogg|audio.mp3|captions.vtt``. The token (signed
with the host's secret key, itsdangerous) holds the merchant, the narration and the
expiry. A link follows its narration: after a new rendering it serves the new audio.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from babel import Locale
from flask import Blueprint, Response, send_file
from itsdangerous import BadData
from markupsafe import escape
from sqlalchemy import select

from merchant_voice.plugin_api import (
    Conflict,
    Forbidden,
    NotFound,
    TenantSession,
    current_settings,
    external_url,
    merchant_session,
    signer,
)
from plugins.catalog.public import Listing
from plugins.narration import files
from plugins.narration.checks import no_longer_so
from plugins.narration.facts import facts
from plugins.narration.models import Narration
from plugins.narration.settings import NarrationSettings

PURPOSE = "media"
MEDIA = {  # name in the URL -> (file kind, content type)
    "audio.ogg": ("ogg", "audio/ogg; codecs=opus"),
    "audio.mp3": ("mp3", "audio/mpeg"),
    "captions.vtt": ("vtt", "text/vtt; charset=utf-8"),
}
CACHE_S = 300  # a storefront's visitors' browsers may keep a file this long

bp = Blueprint("narration_media", __name__)


@dataclass(frozen=True)
class Links:
    ogg: str
    mp3: str
    captions: str
    expires_at: datetime

    def embed(self, title: str, locale: str) -> str:
        """An ``<audio>`` element with its caption track, for a plain HTML page."""
        spoken = Locale.parse(locale)
        return (
            f'<audio controls preload="none" crossorigin="anonymous"'
            f' lang="{escape(locale.replace("_", "-"))}" title="{escape(title)}">'
            f'<source src="{escape(self.ogg)}" type="audio/ogg; codecs=opus">'
            f'<source src="{escape(self.mp3)}" type="audio/mpeg">'
            f'<track kind="captions" src="{escape(self.captions)}"'
            f' srclang="{escape(spoken.language)}"'
            f' label="{escape(spoken.get_display_name(spoken) or locale)}" default>'
            "</audio>"
        )


def links(merchant_slug: str, row: Narration, lifetime: timedelta) -> Links:
    """Links to ``row``'s files that work until ``lifetime`` from now."""
    expires = int(time.time() + lifetime.total_seconds())
    token = signer("narration", PURPOSE).dumps([merchant_slug, row.id, _born(row), expires])
    base = f"/media/narrations/{token}/"
    return Links(
        ogg=external_url(base + "audio.ogg"),
        mp3=external_url(base + "audio.mp3"),
        captions=external_url(base + "captions.vtt"),
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def _born(row: Narration) -> int:
    """When the narration was created, in microseconds: with its id, it names this one
    narration for good (a deleted merchant's ids and slug may be taken again)."""
    return int(row.created_at.timestamp() * 1_000_000)


def verified(token: str) -> tuple[str, int, int]:
    """The merchant slug, narration id and creation a token is good for; Forbidden when
    it is not ours or has expired."""
    try:
        slug, narration_id, born, expires = signer("narration", PURPOSE).loads(token)
    except (BadData, ValueError, TypeError):
        raise Forbidden("this link is not valid") from None
    if not isinstance(expires, int) or expires <= time.time():
        raise Forbidden("this link has expired: ask the shop for a new one")
    return str(slug), int(narration_id), int(born)


def _says_what_is_no_longer_so(session: TenantSession, row: Narration) -> bool:
    """Whether the listing changed since the script was written, and the script now says
    a number it no longer has (an old price); a narration without its listing, too."""
    listing = session.get(Listing, row.listing_id)
    if listing is None:
        return True
    told = facts(session, listing, row.locale)
    words = current_settings(NarrationSettings).word_range()
    return row.source_hash != told.fingerprint(words) and no_longer_so(row.script, told, row.flags)


def medium(name: str) -> tuple[str, str]:
    """The file kind and content type of ``name`` (``audio.ogg``...); NotFound for others."""
    if name not in MEDIA:
        raise NotFound(f"no {name!r} here: audio.ogg, audio.mp3 or captions.vtt")
    return MEDIA[name]


@bp.get("/media/narrations/<token>/<name>")
def media(token: str, name: str) -> Response:
    kind, content_type = medium(name)
    slug, narration_id, born = verified(token)
    with merchant_session(slug, plugin="narration") as session:
        row = session.scalar(select(Narration).where(Narration.id == narration_id))
        path = files.stored(row).get(kind) if row is not None and _born(row) == born else None
        if row is None or path is None or not path.is_file():
            raise NotFound("this narration has no audio now")
        if _says_what_is_no_longer_so(session, row):
            raise Conflict(  # never an old price to a shopper: the next run writes it again
                "this narration says what its listing no longer does (a price):"
                " it is withheld until it is narrated again"
            )
        response = send_file(path, mimetype=content_type, conditional=True, max_age=CACHE_S)
    response.headers["Access-Control-Allow-Origin"] = "*"  # captions fetched cross-origin
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
