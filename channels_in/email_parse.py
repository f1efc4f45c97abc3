"""Raw RFC 5322 bytes -> `ParsedEmail`: addresses, threading headers, loop signals, the body as
text and sanitised HTML, attachments. Pure: no database, no tenant.

Real mail is messy, so every step degrades instead of failing: a mislabelled charset is read
with the charset it usually is (GB2312/GBK labels are read as GB18030, which is a superset and
what Outlook and QQMail actually send), undecodable bytes are replaced, a broken part becomes
a note. `EmailParseError` is raised only when there is nothing that looks like a message.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header, decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from tickets.sanitize import clean_html, html_to_text

# Labels that lie: read them as the superset encoding their senders really use.
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
}
TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
SUBJECT_NUMBER = re.compile(r"\[#(\d{1,9})\]")
REPLY_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|wg|sv|vs|回复|答复|转发|回覆|轉寄)\s*[:：]\s*)+", re.I
)


class EmailParseError(ValueError):
    pass


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False


@dataclass
class ParsedEmail:
    message_id: str
    subject: str
    sender_name: str
    sender: str  # lower-cased address
    to: list[str]
    cc: list[str]
    reply_to: str
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str  # the whole body as plain text (HTML converted when there is no text part)
    html: str  # sanitised HTML, or ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was dropped, and why
    auto_reason: str = ""  # why this is automatic mail ("" for a person's message)
    is_bounce: bool = False
    bounced_message_ids: list[str] = field(default_factory=list)
    bounced_recipients: list[str] = field(default_factory=list)
    bounce_action: str = "failed"  # from the DSN's Action: field; "delayed" is not a failure
    language_hint: str = ""

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc]

    def content_digest(self) -> str:
        """The same message delivered twice has the same digest, whatever Received: headers or
        transport encoding it picked up on the way; another message with the same Message-ID
        (some senders reuse them) has another."""
        digest = hashlib.sha256()
        for part in (self.sender, self.subject, self.date.isoformat() if self.date else ""):
            digest.update(part.encode("utf-8", "replace") + b"\0")
        digest.update(" ".join(self.text.split()).encode("utf-8", "replace"))
        for attachment in self.attachments:
            digest.update(hashlib.sha256(attachment.content).digest())
        return digest.hexdigest()

    def subject_ticket_number(self) -> int | None:
        found = SUBJECT_NUMBER.search(self.subject)
        return int(found.group(1)) if found else None


def parse_email(raw: bytes, *, max_attachment_bytes: int = 20 * 1024 * 1024) -> ParsedEmail:
    if not raw or not raw.strip():
        raise EmailParseError("empty message")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as error:  # noqa: BLE001 - the stdlib parser rarely raises; report it
        raise EmailParseError(f"unreadable MIME: {error}") from error
    if not msg.keys():
        raise EmailParseError("no headers")
    sender_name, sender = _address(msg.get("From", ""))
    if not sender:
        _name, sender = _address(msg.get("Sender", "") or msg.get("Return-Path", ""))
    if not sender:
        raise EmailParseError("no sender address")
    parsed = ParsedEmail(
        message_id=_message_id(msg.get("Message-ID", "")),
        subject=" ".join(_header(msg.get("Subject", "")).split())[:500],
        sender_name=sender_name,
        sender=sender,
        to=_addresses(msg.get_all("To", []) + msg.get_all("Delivered-To", [])),
        cc=_addresses(msg.get_all("Cc", [])),
        reply_to=_address(msg.get("Reply-To", ""))[1],
        date=_date(msg.get("Date", "")),
        in_reply_to=_ids(msg.get("In-Reply-To", "")),
        references=_ids(msg.get("References", "")),
        text="",
        html="",
    )
    parsed.auto_reason = auto_reason(msg, sender)
    texts: list[str] = []
    htmls: list[str] = []
    _walk(msg, parsed, texts, htmls, max_attachment_bytes)
    if _is_dsn(msg, sender):
        parsed.is_bounce = True
        parsed.auto_reason = parsed.auto_reason or "bounce"
        _read_dsn(msg, parsed)
    html = "\n".join(htmls)
    parsed.html = clean_html(html) if html else ""
    parsed.text = "\n\n".join(t.strip() for t in texts if t.strip()) or (
        html_to_text(parsed.html) if parsed.html else ""
    )
    return parsed


# --- Headers -------------------------------------------------------------------------------


def _header(value: str | Header) -> str:
    """RFC 2047 encoded words decoded, with the same charset aliases as bodies. A header sent
    as raw 8-bit bytes (common with Chinese mail) arrives as a Header of unknown-8bit bytes,
    read like an unlabelled body."""
    if not value:
        return ""
    try:
        parts = [
            (chunk, CHARSET_ALIASES.get((charset or "").lower(), charset))
            for chunk, charset in decode_header(value if isinstance(value, Header) else str(value))
        ]
    except Exception:  # noqa: BLE001 - a malformed encoded word: show it as it came
        return str(value).replace("\r", "").replace("\n", " ")
    if any(isinstance(chunk, bytes) for chunk, _charset in parts):
        text = _join_words(parts)
    else:
        text = "".join(chunk for chunk, _charset in parts)
    return text.replace("\r", "").replace("\n", " ")


def _join_words(parts: list[tuple[bytes | str, str | None]]) -> str:
    """decode_header's pieces as text: make_header when every piece is labelled (it spaces
    encoded words the RFC way), else each piece decoded on its own."""
    if all(charset not in {None, "unknown-8bit"} or isinstance(chunk, str)
           for chunk, charset in parts):  # fmt: skip
        try:
            return str(make_header(parts))
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    return "".join(
        _decode(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in parts
    )


def _address(value: str | Header) -> tuple[str, str]:
    """(display name, lower-cased address). The address is split off before encoded words are
    decoded: a decoded name may hold a comma ("Müller, Hans") that would split it in two."""
    raw = _header(value) if isinstance(value, Header) else str(value)
    name, address = parseaddr(raw)
    address = address.strip().strip("<>").lower()
    if "=?" in name:
        name = _header(name)
    return name.strip().strip('"'), address if "@" in address else ""


def _addresses(values: list) -> list[str]:
    seen: list[str] = []
    texts = [_header(v) if isinstance(v, Header) else str(v) for v in values]
    for _name, address in getaddresses(texts):
        address = address.strip().lower()
        if "@" in address and address not in seen:
            seen.append(address)
    return seen


def _message_id(value: str) -> str:
    found = re.search(r"<[^<>\s]+>", str(value))
    if found:
        return found.group(0)[:500]
    value = str(value).strip()
    return f"<{value}>"[:500] if value and " " not in value else ""


def _ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", str(value))[-50:]


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None


def auto_reason(msg: Message, sender: str) -> str:
    """Why this mail must never get an automatic answer ("" when a person wrote it)."""
    auto_submitted = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in {"bulk", "list", "junk", "auto_reply"}:
        return f"Precedence: {precedence}"
    if msg.get("X-Loop"):
        return "X-Loop"
    if str(msg.get("X-Auto-Response-Suppress", "")).lower() in {"all", "oof", "autoreply"}:
        return "X-Auto-Response-Suppress"
    if msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return "mailing list"
    local = sender.split("@", 1)[0]
    if local in {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply"}:
        return f"sender {local}"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return "X-Autoreply"
    return ""


# --- Bodies and parts ----------------------------------------------------------------------


# Labels that say "no 8-bit" or latin-1 but often carry UTF-8 (PHP mailers, old scripts).
TRY_UTF8_FIRST = {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "cp1252", "unknown-8bit"}


def _decode(payload: bytes, charset: str | None) -> str:
    label = (charset or "utf-8").strip().strip('"').lower()
    if label in TRY_UTF8_FIRST:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            pass
    name = CHARSET_ALIASES.get(label, label)
    try:
        return payload.decode(name)
    except (LookupError, UnicodeDecodeError):
        pass
    for fallback in ("utf-8", "gb18030"):
        try:
            return payload.decode(fallback)
        except UnicodeDecodeError:
            continue
    return payload.decode(name if _known(name) else "utf-8", errors="replace")


def _known(name: str) -> bool:
    try:
        "".encode(name)
    except LookupError:
        return False
    return True


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken base64/quoted-printable: keep what there is
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "replace") if isinstance(raw, str) else b""
    return payload


def _filename(part: Message) -> str:
    """The part's file name: RFC 2231 (filename*=charset''…) decoded with our charset aliases
    (get_filename() would use the label's own codec), else RFC 2047 words, else as given."""
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = part.get_param(param, header=header)
        if isinstance(value, tuple):  # (charset, language, percent-decoded value)
            charset, _language, text = value
            raw = text.encode("latin-1", "surrogateescape") if isinstance(text, str) else text
            return _decode(raw, charset or "utf-8").strip()
        if value:
            return _header(email.utils.unquote(str(value))).strip()
    return ""


def _walk(
    msg: Message, parsed: ParsedEmail, texts: list[str], htmls: list[str], limit: int
) -> None:
    if msg.get_content_type() == "message/rfc822":  # a forwarded mail: one .eml attachment
        inner = msg.get_payload()
        subject = _header(inner[0].get("Subject", "")) if isinstance(inner, list) and inner else ""
        name = _filename(msg) or f"{subject or 'message'}.eml".replace("/", "-")
        _attach(parsed, msg, name, limit)
        return
    if msg.is_multipart():
        if msg.get_content_type() == "multipart/alternative":
            _alternative(msg, parsed, texts, htmls, limit)
            return
        for part in msg.get_payload() or []:
            if isinstance(part, Message):
                _walk(part, parsed, texts, htmls, limit)
        return
    content_type = msg.get_content_type()
    disposition = str(msg.get("Content-Disposition", "")).split(";")[0].strip().lower()
    filename = _filename(msg)
    if content_type == "message/rfc822" or content_type.startswith("message/"):
        _attach(parsed, msg, filename or "message.eml", limit)
        return
    is_body = disposition != "attachment" and not filename
    if is_body and content_type == "text/plain":
        texts.append(_decode(_payload(msg), msg.get_content_charset()))
    elif is_body and content_type == "text/html":
        htmls.append(_decode(_payload(msg), msg.get_content_charset()))
    elif content_type in TNEF_TYPES or filename.lower() == "winmail.dat":
        parsed.notes.append(
            "An Outlook winmail.dat (TNEF) part was left out: it holds formatting, "
            "not content we can show."
        )
    else:
        _attach(parsed, msg, filename or _default_name(content_type), limit)


def _alternative(
    msg: Message, parsed: ParsedEmail, texts: list[str], htmls: list[str], limit: int
) -> None:
    """multipart/alternative: the text part and the HTML part are one body told twice."""
    alt_texts: list[str] = []
    alt_htmls: list[str] = []
    for part in msg.get_payload() or []:
        if isinstance(part, Message):
            _walk(part, parsed, alt_texts, alt_htmls, limit)
    texts.extend(alt_texts[:1])
    htmls.extend(alt_htmls[:1])


def _default_name(content_type: str) -> str:
    extension = {
        "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "application/pdf": "pdf",
        "text/calendar": "ics", "text/plain": "txt", "text/html": "html",
    }.get(content_type, "bin")  # fmt: skip
    return f"attachment.{extension}"


def _attach(parsed: ParsedEmail, part: Message, filename: str, limit: int) -> None:
    if part.get_content_type().startswith("message/"):
        inner = part.get_payload()
        content = inner[0].as_bytes() if isinstance(inner, list) and inner else _payload(part)
    else:
        content = _payload(part)
    if len(content) > limit:
        parsed.notes.append(
            f"{filename} ({len(content) // 1024} KB) was not attached: it is larger than "
            f"the {limit // (1024 * 1024)} MB limit."
        )
        return
    disposition = str(part.get("Content-Disposition", "")).lower()
    parsed.attachments.append(
        ParsedAttachment(
            filename=filename,
            content_type=part.get_content_type(),
            content=content,
            content_id=str(part.get("Content-ID", "")).strip().strip("<>"),
            inline=disposition.startswith("inline") or bool(part.get("Content-ID")),
        )
    )


# --- Bounces (RFC 3464 delivery status notifications) --------------------------------------


def _is_dsn(msg: Message, sender: str) -> bool:
    if msg.get_content_type() == "multipart/report":
        return str(msg.get_param("report-type", "")).lower() == "delivery-status"
    local = sender.split("@", 1)[0]
    subject = _header(msg.get("Subject", "")).lower()
    return local in {"mailer-daemon", "postmaster"} and any(
        word in subject for word in ("undeliver", "failure", "returned", "退信", "投递失败")
    )


def _read_dsn(msg: Message, parsed: ParsedEmail) -> None:
    for part in msg.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            text = _dsn_text(part)
            for found in re.findall(r"(?im)^final-recipient:\s*[^;]*;\s*(\S+)", text):
                parsed.bounced_recipients.append(found.strip("<>").lower())
            actions = {a.lower() for a in re.findall(r"(?im)^action:\s*(\w+)", text)}
            if actions and "failed" not in actions:  # "delayed", "delivered", "relayed"...
                parsed.bounce_action = sorted(actions)[0]
        elif content_type in {"message/rfc822", "text/rfc822-headers"}:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original = inner[0]
            else:
                original = email.message_from_bytes(_payload(part), policy=email.policy.compat32)
            original_id = _message_id(original.get("Message-ID", ""))
            if original_id:
                parsed.bounced_message_ids.append(original_id)
    if not parsed.bounced_message_ids:  # non-standard bounces quote the headers in the text
        parsed.bounced_message_ids = re.findall(
            r"(?im)^message-id:\s*(<[^<>\s]+>)", parsed.text + "\n" + _all_text(msg)
        )[:5]


def _dsn_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n".join(p.as_string() for p in payload if isinstance(p, Message))
    return _decode(_payload(part), part.get_content_charset())


def _all_text(msg: Message) -> str:
    return "\n".join(
        _decode(_payload(p), p.get_content_charset())
        for p in msg.walk()
        if p.get_content_type() == "text/plain"
    )


# --- Quoted replies ------------------------------------------------------------------------

QUOTE_HEADERS = [
    # Gmail, Apple Mail (the attribution may wrap onto a second line)
    re.compile(r"^\s*On [^\n]{5,200}(?:\n[^\n]{0,200})?wrote:\s*$", re.M),
    re.compile(r"^\s*在\s?[^\n]{2,200}(?:\n[^\n]{0,200})?写道[:：]\s*$", re.M),
    re.compile(r"^\s*-{2,}\s*(Original Message|原始邮件|原始郵件)\s*-{2,}\s*$", re.M | re.I),
    re.compile(
        r"^\s*(From|发件人|寄件者)\s*[:：].{3,}\n\s*(Sent|Date|发送时间|日期|寄件日期)\s*[:：]",
        re.M,
    ),
    re.compile(r"^\s*_{10,}\s*$", re.M),  # Outlook's rule above the quoted header
    re.compile(r"^\s*Le .{5,200}a écrit\s?:\s*$", re.M),
    re.compile(r"^\s*Am .{5,200}schrieb .{1,100}:\s*$", re.M),
]


def strip_quoted(text: str) -> str:
    """The new part of a reply, for the thread view (the full text is kept on the message):
    everything above the first quote header, without trailing ">" quote lines."""
    cut = len(text)
    for pattern in QUOTE_HEADERS:
        found = pattern.search(text)
        if found and found.start() < cut:
            cut = found.start()
    top = text[:cut]
    lines = top.rstrip().split("\n")
    while lines and (lines[-1].lstrip().startswith(">") or not lines[-1].strip()):
        lines.pop()
    trimmed = "\n".join(lines).strip()
    return trimmed or text.strip()


def clean_subject(subject: str) -> str:
    """Re:/Fwd:/回复: prefixes and our [#N] tag removed (for new tickets' subjects)."""
    subject = SUBJECT_NUMBER.sub("", subject)
    return " ".join(REPLY_PREFIX.sub("", subject).split())


def as_email_message(raw: bytes) -> EmailMessage:
    """The raw bytes as a modern EmailMessage (for tools that want one)."""
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]
