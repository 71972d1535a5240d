"""Whether a caller's words are only small talk: the turns the calls model answers alone.

Measured on the call-correctness set (bench/call_set.py, docs/performance.md), every
bundled model asked anything answers it: the capital of Australia, a poem, "yes, you
can pay with PayPal", an e-mail address it made up. No fact check catches an answer
to a question nobody should have answered. So by default (``model_answers =
"small_talk"``) the model speaks only where no fact is at stake: greetings, thanks,
"can you hear me?", "who am I speaking with?", an "okay". Words no tool answers and
that are more than that get the unsure line, which says what the line can do.

Small talk is found by phrase, per language (folded: no case, no accents), once the
phrases and fillers are taken out, at most :data:`LEFT_OVER_WORDS` words may remain
("Thank you so much" is small talk; "Hi, can I pay with PayPal?" is not).
"""

from __future__ import annotations

import re
from functools import cache

from merchant_voice.plugin_api import fold

LEFT_OVER_WORDS = 2

PHRASES = (
    # en
    "hello", "hi", "hey", "good morning", "good afternoon", "good evening", "thank you",
    "thanks", "cheers", "can you hear me", "are you there", "how are you", "how is it going",
    "who am i speaking with", "who am i speaking to", "who am i talking to", "who is this",
    "who are you", "are you a robot", "are you a bot", "are you a human", "are you human",
    "are you a real person", "are you real", "okay", "ok", "alright", "all right", "i see",
    "got it", "great", "perfect", "fine", "good", "cool", "nice", "sorry", "pardon",
    "one moment", "hold on", "just a second", "never mind", "bye", "goodbye",
    "what did you say", "say that again", "come again",
    # de
    "hallo", "guten morgen", "guten tag", "guten abend", "servus", "moin", "danke",
    "danke schon", "vielen dank", "horen sie mich", "horst du mich", "sind sie da",
    "wie geht es ihnen", "wie geht's", "mit wem spreche ich", "wer ist da",
    "sind sie ein roboter", "bist du ein roboter", "alles klar", "gut", "super", "prima",
    "entschuldigung", "einen moment", "tschuss", "auf wiederhoren",
    # fr
    "bonjour", "bonsoir", "salut", "allo", "merci", "merci beaucoup",
    "vous m'entendez", "tu m'entends", "vous etes la", "comment allez-vous", "ca va",
    "a qui je parle", "qui est a l'appareil", "etes-vous un robot", "d'accord", "tres bien",
    "parfait", "pardon", "un instant", "au revoir",
    # es
    "hola", "buenos dias", "buenas tardes", "buenas noches", "gracias", "muchas gracias",
    "me oye", "me escucha", "me oyes", "esta ahi", "como esta", "que tal",
    "con quien hablo", "quien es", "eres un robot", "es usted un robot", "vale", "de acuerdo",
    "perfecto", "bien", "perdon", "un momento", "adios",
    # it, nl
    "ciao", "buongiorno", "buonasera", "grazie", "mi sente", "come sta", "con chi parlo",
    "sei un robot", "va bene", "hoi", "goedemorgen", "goedemiddag", "dank je", "dank u",
    "bedankt", "hoort u mij", "hoe gaat het", "met wie spreek ik", "ben je een robot",
    # ja, zh
    "もしもし", "こんにちは", "こんばんは", "おはようございます", "ありがとう",
    "ありがとうございます", "聞こえますか", "ロボットですか", "はい", "わかりました",
    "你好", "您好", "喂", "谢谢", "听得到吗", "你是机器人吗", "好的",
)  # fmt: skip
FILLERS = frozenset({
    "um", "uh", "uhm", "er", "erm", "ah", "eh", "hm", "hmm", "mm", "so", "well", "yes", "yeah",
    "yep", "no", "nope", "oh", "please", "very", "much", "today", "there", "again", "then",
    "ja", "nein", "also", "na", "bitte", "oui", "non", "bon", "euh", "si", "bueno", "pues",
    "ehm", "dunque", "ne", "nou",
})  # fmt: skip


def is_small_talk(text: str) -> bool:
    """Whether ``text`` is only greetings, thanks, a check of the line and the like."""
    left = _phrases().sub(" ", fold(text))
    words = re.findall(r"[^\W\d_]+|\d+", left)
    return sum(_weight(word) for word in words if word not in FILLERS) <= LEFT_OVER_WORDS


def _weight(word: str) -> int:
    """A word's count; in text written without spaces (Japanese, Chinese), a character's."""
    return 1 if all(ord(char) < 0x3000 for char in word) else len(word)


@cache
def _phrases() -> re.Pattern[str]:
    folded = sorted({fold(phrase) for phrase in PHRASES}, key=len, reverse=True)
    spaced = "|".join(re.escape(phrase) for phrase in folded if phrase.isascii())
    unspaced = "|".join(re.escape(phrase) for phrase in folded if not phrase.isascii())
    return re.compile(rf"(?<!\w)(?:{spaced})(?!\w)|{unspaced}")
