"""Which locales of a merchant no voice speaks: said at set-up, not found out on a mute call.

``merchants create``, ``plugins enable`` (for a plugin that ``speaks``) and
``engines status`` print these warnings; a call in such a locale still speaks,
in an installed voice after a short apology.
"""

from __future__ import annotations

from collections.abc import Iterable

from engines import Engines
from engines.errors import ModelNotPrepared, VoiceNotFound
from engines.tts import Synthesizer
from merchant_voice.tenancy import MerchantInfo


def unspoken(tts: Synthesizer, locales: Iterable[str]) -> list[str]:
    """The locales, each once, that no installed voice speaks (not even one of its language)."""
    missing: list[str] = []
    for locale in dict.fromkeys(locales):
        try:
            tts.voice_for(locale)
        except VoiceNotFound:
            missing.append(locale)
    return missing


def warning(engines: Engines, merchant: MerchantInfo) -> str | None:
    """What to tell the operator when some of ``merchant``'s locales have no voice."""
    try:
        tts = engines.tts
    except ModelNotPrepared as exc:
        return f"warning: which locales have a voice is unknown until then: {exc.detail}"
    missing = unspoken(tts, [merchant.default_locale, *merchant.market_locales])
    if not missing:
        return None
    spoken = ", ".join(tts.locales()) or "none"
    return (
        f"warning: no voice speaks {', '.join(missing)} ({merchant.slug}); calls in it speak"
        f" an installed voice ({spoken}) after an apology. Add one with `flask --app app"
        f" models voices add {missing[0]}-<voice>-<quality>` (Piper's downloader) or"
        " `... --from PATH`, then restart the host."
    )
