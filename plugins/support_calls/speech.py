"""Text for the ear: replies made speakable, and cut into sentences as they stream.

Prices, dates and codes are said by the host's speech helpers (``spoken_money``
and the like, in the plugin API), which tools use too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from merchant_voice.plugin_api import normalized_digits

_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MARKUP = re.compile(r"[*_`#>|~]+|^\s*[-+•]\s+|^\s*\d+[.)]\s+", re.MULTILINE)
_NOT_SPOKEN = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF<>{}\[\]\\]")
_SPACES = re.compile(r"\s+")

_SENTENCE_END = re.compile("[.!?\u2026\u3002\uff01\uff1f]+[\"')\\]]*\\s")
_CLAUSE_END = re.compile(r"[,;:—]\s")
FIRST_CLAUSE_WORDS = 2  # a reply's first clause ("I'm sorry,") is spoken alone: earlier audio
FIRST_CHUNK_WORDS = 4  # with no punctuation yet, the first words go ahead on their own
# (not a figure's: "Your order 8 8" must wait for "2 1", so that the whole code is checked)
MAX_SENTENCE_CHARS = 220


def speakable(text: str) -> str:
    """No markdown, links, emoji or markup: only what a voice can say."""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _MARKUP.sub(" ", text)
    text = _NOT_SPOKEN.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _has_figure(text: str) -> bool:
    return any(ch.isdigit() for ch in normalized_digits(text))


def ends_sentence(piece: str) -> bool:
    """Whether a piece the splitter gave ends a sentence (not an opening clause or words)."""
    return _SENTENCE_END.search(piece + " ") is not None


class SentenceSplitter:
    """Cuts a streamed reply into sentences, each ready for speech synthesis at once."""

    def __init__(self, first_clause: bool = True) -> None:
        self._buffer = ""
        self._emitted = 0 if first_clause else 1  # only a reply's opening clause goes alone

    def feed(self, piece: str) -> Iterator[str]:
        self._buffer += piece
        while True:
            cut = self._cut()
            if cut is None:
                return
            sentence, self._buffer = self._buffer[:cut], self._buffer[cut:]
            sentence = speakable(sentence)
            if sentence:
                self._emitted += 1
                yield sentence

    def flush(self) -> Iterator[str]:
        rest, self._buffer = speakable(self._buffer), ""
        if rest:
            self._emitted += 1
            yield rest

    def _cut(self) -> int | None:
        match = _SENTENCE_END.search(self._buffer)
        if match:
            return match.end()
        if self._emitted == 0:
            clause = _CLAUSE_END.search(self._buffer)
            if clause and len(self._buffer[: clause.start()].split()) >= FIRST_CLAUSE_WORDS:
                return clause.end()
            words = list(re.finditer(r"\S+\s", self._buffer))
            if len(words) >= FIRST_CHUNK_WORDS and not _has_figure(self._buffer):
                return words[FIRST_CHUNK_WORDS - 1].end()
        if len(self._buffer) > MAX_SENTENCE_CHARS:
            space = self._buffer.rfind(" ", 0, MAX_SENTENCE_CHARS)
            return space + 1 if space > 0 else MAX_SENTENCE_CHARS
        return None
