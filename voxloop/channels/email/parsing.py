"""Reading email messages: headers and bodies in any charset, HTML to text, quotes, attachments.

Pure functions over `email.message.Message`; no database. Chinese mail often declares GB2312 while
using GBK characters, or sends raw 8-bit headers without encoded words: both are decoded with
GB18030 (a superset), and anything undeclared is tried as UTF-8, then GB18030.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from charset_normalizer import from_bytes

# Declared charsets that are, in practice, subsets of another one.
CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030",
    "big5": "big5hkscs", "ks_c_5601-1987": "cp949", "iso-8859-1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8",
    "unknown-8bit": "", "x-unknown": "", "default": "",
}  # fmt: skip

REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|回复|回覆|答复|转发|轉寄)\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)
# Lines that start the quoted earlier message in a reply (English, Chinese clients, Outlook, QQ Mail).
QUOTE_HEADERS = [
    re.compile(r"^On .{0,200}wrote:\s*$", re.IGNORECASE),
    re.compile(r"^在\s?.{0,200}(写道|寫道)[:：]\s*$"),
    re.compile(r"^-{2,}\s*(Original Message|原始邮件|原始郵件|Forwarded message|转发的邮件)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^(From|发件人|寄件者)\s*[:：].+"),
]


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes to text without NUL characters (no database stores them in text), trying the declared charset
    (widened to its superset), then UTF-8, GB18030, then a guess."""
    return _decode_bytes(data, declared).replace("\x00", "")


def _decode_bytes(data: bytes, declared: str | None = None) -> str:
    tried = []
    charset = (declared or "").strip().strip('"').lower()
    charset = CHARSET_ALIASES.get(charset, charset)
    for candidate in (charset, "utf-8", "gb18030"):
        if not candidate or candidate in tried:
            continue
        tried.append(candidate)
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("utf-8", errors="replace")


def decode_header_value(value: Any) -> str:
    """An RFC 2047 header (=?GB2312?B?...?=), or raw 8-bit bytes, to text."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        # compat32 keeps undecodable raw header bytes as surrogates: recover and decode them.
        text = decode_bytes(text.encode("utf-8", "surrogateescape"))
    parts = []
    try:
        chunks = email.header.decode_header(text)
    except email.errors.HeaderParseError:
        return text.replace("\x00", "").strip()
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            parts.append(decode_bytes(chunk, charset))
        else:
            parts.append(chunk)
    # decode_header drops the whitespace between an encoded word and plain text; join like the RFC intends.
    joined = ""
    for i, (part, (_, charset)) in enumerate(zip(parts, chunks, strict=True)):
        if i and charset is None and chunks[i - 1][1] is None:
            joined += " "
        joined += part
    return re.sub(r"\s+", " ", joined).replace("\x00", "").strip()


def normalize_subject(subject: str) -> str:
    return re.sub(r"\s+", " ", REPLY_PREFIX.sub("", subject or "")).strip().lower()


class _TextExtractor(HTMLParser):
    BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.out)).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: drops '>' quoted lines and everything after a quote header.
    Returns the text unchanged when stripping would leave nothing."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if any(p.match(stripped) for p in QUOTE_HEADERS) and any(k.strip() for k in kept):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    result = "\n".join(kept).strip()
    return result or text.strip()


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ParsedMail:
    message_id: str
    subject: str
    from_name: str
    from_email: str
    to: str
    cc: str
    date: datetime | None
    in_reply_to: str
    references: list[str]
    body_text: str  # the full body (plain text, or the HTML as text)
    body_html: str
    text: str  # the body without quoted earlier messages
    attachments: list[Attachment] = field(default_factory=list)
    auto_reply: bool = False  # an out-of-office or other automatic answer (RFC 3834), not a person writing


def _ids(value: str) -> list[str]:
    return [m.strip() for m in re.findall(r"<([^<>\s]+)>", value or "")] or (
        [value.strip()] if value and value.strip() and " " not in value.strip() else []
    )


def _header(msg: email.message.Message, name: str) -> str:
    """The header as sent: raw_items() keeps raw 8-bit bytes (as surrogates) that get() would mangle."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return decode_header_value(value)
    return ""


def _is_automatic(msg: email.message.Message) -> bool:
    """RFC 3834's Auto-Submitted, and the older headers that Exchange and autoresponders still send."""
    submitted = _header(msg, "Auto-Submitted").strip().lower()
    precedence = _header(msg, "Precedence").strip().lower()
    return (
        (bool(submitted) and submitted != "no")
        or precedence in ("auto_reply", "bulk", "junk")
        or bool(_header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"))
        or _header(msg, "X-Auto-Response-Suppress").strip().lower() == "all"
    )


def parse_message(msg: email.message.Message) -> ParsedMail:
    """Read one message. Raises ValueError when it holds nothing usable."""
    from_name, from_email = email.utils.parseaddr(_header(msg, "From"))
    subject = _header(msg, "Subject")
    date = None
    if raw_date := _header(msg, "Date"):
        try:
            date = email.utils.parsedate_to_datetime(raw_date)
        except (TypeError, ValueError, IndexError):
            date = None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[Attachment] = []
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").lower()
        filename = part.get_filename()
        decoded = part.get_payload(decode=True)  # bytes (or None) for a part that is not multipart
        payload = decoded if isinstance(decoded, bytes) else b""
        if filename or "attachment" in disposition or not content_type.startswith("text/"):
            if content_type.startswith("multipart/") or (not payload and not filename):
                continue
            name = decode_header_value(filename) if filename else f"attachment-{len(attachments) + 1}"
            attachments.append(Attachment(name=name[:255], content_type=content_type, data=payload))
        elif content_type == "text/plain":
            plain.append(decode_bytes(payload, part.get_content_charset()))
        elif content_type == "text/html":
            markup.append(decode_bytes(payload, part.get_content_charset()))
    body_html = "\n".join(markup)
    body_text = "\n".join(plain).replace("\r\n", "\n").strip() or html_to_text(body_html)
    message_id = (_ids(_header(msg, "Message-ID")) or [""])[0]
    references = _ids(_header(msg, "References"))
    in_reply_to = (_ids(_header(msg, "In-Reply-To")) or [""])[0]
    if not (body_text or subject or attachments or from_email):
        raise ValueError("The message has no sender, subject or body.")
    return ParsedMail(
        message_id=message_id[:200],
        subject=subject,
        from_name=from_name,
        from_email=from_email.strip().lower(),
        to=_header(msg, "To"),
        cc=_header(msg, "Cc"),
        date=date,
        in_reply_to=in_reply_to,
        references=references,
        body_text=body_text,
        body_html=body_html,
        text=strip_quoted(body_text),
        attachments=attachments,
        auto_reply=_is_automatic(msg),
    )


def message_from_bytes(data: bytes) -> email.message.Message:
    return email.message_from_bytes(data)
