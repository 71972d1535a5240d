"""HTML descriptions cut into translatable segments, and put back together.

A description is parsed and checked (every tag closed, in order), then cut at
block elements (``<p>``, ``<li>``, ``<h2>``, ``<td>``...) into a *skeleton*:
the block markup, kept byte for byte, around *runs* of inline content. Each
run with text becomes one :class:`~plugins.translation.protect.Segment`: its
inline tags (``<strong>``, ``<a href=...>``, ``<br>``) are replaced by
markers (``<x1>``, ``</x1>``, ``<x2/>``), so the model never sees, and cannot
change, a tag or an attribute. Reassembly puts the original tags back where
the markers are; the escaped text between them is all the model wrote.

This is also how huge descriptions are split: every block is translated on
its own (and cached on its own in translation memory).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from merchant_voice.plugin_api import ValidationFailed

VOID_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)
BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "ul",
    ]
)
RAW_TEXT_TAGS = frozenset({"script", "style"})  # the parser keeps their bodies verbatim
MAX_SEGMENT_CHARS = 2000
"""A single block longer than this is refused: split it into paragraphs. With the prompt
and an answer up to three times as long, it fits a 4,096-token context."""


class InvalidHtml(ValidationFailed):
    """A description that is not well-formed HTML (the reason names line and column)."""

    def __init__(self, reason: str, field: str = "description_html") -> None:
        super().__init__(f"{field}: {reason}", [{"field": field, "message": reason}])
        self.reason = reason


@dataclass(frozen=True)
class Token:
    kind: str  # "start", "end", "void", "data", "raw" (comments, doctypes, script bodies)
    text: str  # the source exactly as written (data: unescaped text)
    tag: str = ""


class _Tokenizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []
        self._stack: list[tuple[str, tuple[int, int]]] = []
        self._raw_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or f"<{tag}>"
        if tag in VOID_TAGS:
            self.tokens.append(Token("void", raw, tag))
            return
        self._stack.append((tag, self.getpos()))
        if tag in RAW_TEXT_TAGS:
            self._raw_depth += 1
        self.tokens.append(Token("start", raw, tag))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(Token("void", self.get_starttag_text() or f"<{tag}/>", tag))

    def handle_endtag(self, tag: str) -> None:
        line, column = self.getpos()
        if tag in VOID_TAGS:
            raise InvalidHtml(f"</{tag}> at line {line}, column {column + 1}: <{tag}> has no end")
        if not self._stack:
            raise InvalidHtml(f"</{tag}> at line {line}, column {column + 1} closes nothing")
        open_tag, (open_line, open_column) = self._stack.pop()
        if open_tag != tag:
            raise InvalidHtml(
                f"</{tag}> at line {line}, column {column + 1} does not close"
                f" <{open_tag}> (opened at line {open_line}, column {open_column + 1})"
            )
        if tag in RAW_TEXT_TAGS:
            self._raw_depth -= 1
        self.tokens.append(Token("end", f"</{tag}>", tag))

    def handle_data(self, data: str) -> None:
        kind = "raw" if self._raw_depth else "data"
        if kind == "data" and self.tokens and self.tokens[-1].kind == "data":
            self.tokens[-1] = Token("data", self.tokens[-1].text + data)
        else:  # a script's or style's body is kept exactly as written
            self.tokens.append(Token(kind, data))

    def handle_comment(self, data: str) -> None:
        self.tokens.append(Token("raw", f"<!--{data}-->"))

    def handle_decl(self, decl: str) -> None:
        self.tokens.append(Token("raw", f"<!{decl}>"))

    def handle_pi(self, data: str) -> None:
        self.tokens.append(Token("raw", f"<?{data}>"))

    def unknown_decl(self, data: str) -> None:
        self.tokens.append(
            Token("raw", f"<![{data}]]>" if data.startswith("CDATA[") else f"<![{data}]>")
        )

    def finish(self) -> list[Token]:
        self.close()
        if self._stack:
            tag, (line, column) = self._stack[-1]
            raise InvalidHtml(f"<{tag}> opened at line {line}, column {column + 1} is never closed")
        return self.tokens


def tokenize(source: str) -> list[Token]:
    """The description's tokens; :class:`InvalidHtml` if a tag is unclosed or misnested."""
    if "\x00" in source:
        raise InvalidHtml("contains a NUL character")
    tokenizer = _Tokenizer()
    tokenizer.feed(source)
    return tokenizer.finish()


def tag_signature(source: str) -> list[str]:
    """Every tag with its attributes, in order: what a translation must keep identical
    (but the text of an image's ``alt``, which is translated)."""
    return [
        _ALT.sub(lambda alt: alt.group(1) + '""', token.text) if token.tag == "img" else token.text
        for token in tokenize(source)
        if token.kind in ("start", "end", "void")
    ]


_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT = re.compile(r"""(\salt\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE)


def alt_texts(source: str) -> list[str]:
    """The ``alt`` text of every image, in order ("" where an image has none)."""
    texts = []
    for tag in _IMAGE.findall(source):
        found = _ALT.search(tag)
        value = next((g for g in found.groups()[1:] if g is not None), "") if found else ""
        texts.append(html.unescape(value))
    return texts


def with_alt_texts(source: str, texts: list[str | None]) -> str:
    """``source`` with its images' ``alt`` texts replaced by ``texts``, in order (None:
    that image's tag as written)."""
    replacements = iter(texts)

    def image(match: re.Match[str]) -> str:
        text = next(replacements, None)
        if text is None:
            return match.group()
        quoted = '"' + html.escape(text, quote=True) + '"'
        return _ALT.sub(lambda alt: alt.group(1) + quoted, match.group(), count=1)

    return _IMAGE.sub(image, source)


@dataclass(frozen=True)
class Run:
    """Inline content between block tags: text and inline tags, in source order."""

    tokens: tuple[Token, ...]


Part = str | Run
"""A skeleton part: markup kept as written, or a run of inline content."""


def skeleton(source: str) -> list[Part]:
    """The description cut at block elements."""
    parts: list[Part] = []
    run: list[Token] = []

    def flush() -> None:
        if run:
            parts.append(Run(tuple(run)))
            run.clear()

    for token in tokenize(source):
        is_block = token.tag in BLOCK_TAGS or token.tag in RAW_TEXT_TAGS
        if token.kind == "raw" or (token.kind != "data" and is_block):
            flush()
            parts.append(token.text)
        else:
            run.append(token)
    flush()
    return parts


def escape_text(text: str) -> str:
    """Text as HTML: ``&``, ``<`` and ``>`` escaped (quotes need no escaping in text)."""
    return html.escape(text, quote=False)


def plain_text(source: str) -> str:
    """The description's visible text (for length limits)."""
    return " ".join(
        " ".join(token.text.split()) for token in tokenize(source) if token.kind == "data"
    ).strip()
