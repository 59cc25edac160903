"""Replies as common mail clients write them, built as raw bytes (headers, charsets, transfer encodings and quote
styles of Outlook, Gmail, QQ Mail and Foxmail), so the threading tests read what a mailbox really holds."""

from __future__ import annotations

import base64
import quopri
from dataclasses import dataclass, field
from email.header import Header

CRLF = "\r\n"


@dataclass
class Reply:
    subject: str
    text: str  # what the customer wrote
    quoted: str = ""  # the earlier message, quoted below in the client's own style
    from_name: str = "李娜"
    from_email: str = "li.na@example.com"
    message_id: str = "reply-1@mail.example.com"
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    date: str = "Tue, 24 Nov 2026 10:12:31 +0800"
    extra_headers: dict[str, str] = field(default_factory=dict)


def _encoded(text: str, charset: str) -> str:
    return Header(text, charset).encode() if not text.isascii() else text


def _threading(reply: Reply) -> list[str]:
    lines = []
    if reply.in_reply_to:
        lines.append(f"In-Reply-To: <{reply.in_reply_to}>")
    if reply.references:
        lines.append("References: " + (CRLF + " ").join(f"<{r}>" for r in reply.references))
    return lines


def _b64(text: str, charset: str) -> str:
    data = base64.b64encode(text.replace("\n", CRLF).encode(charset)).decode()
    return CRLF.join(data[i : i + 76] for i in range(0, len(data), 76))


def _head(reply: Reply, charset: str, mailer: list[str]) -> list[str]:
    return [
        f"From: {_encoded(reply.from_name, charset)} <{reply.from_email}>",
        "To: VoxLoop <service@shop.example>",
        f"Subject: {_encoded(reply.subject, charset)}",
        f"Date: {reply.date}",
        f"Message-ID: <{reply.message_id}>",
        *_threading(reply),
        *mailer,
        *(f"{k}: {v}" for k, v in reply.extra_headers.items()),
        "MIME-Version: 1.0",
    ]


def outlook(reply: Reply) -> bytes:
    """Outlook for Windows (Chinese UI): GB2312 base64 text and HTML, Thread-Index, the quote below a line of
    underscores and a 发件人/发送时间 block."""
    quoted = ""
    if reply.quoted:
        quoted = (
            "\n\n________________________________\n发件人: VoxLoop <service@shop.example>\n"
            "发送时间: 2026年11月23日 9:00\n收件人: 李娜\n主题: earlier\n\n" + reply.quoted
        )
    plain = reply.text + quoted
    html = "<html><body><div>" + reply.text.replace("\n", "<br>") + "</div><hr>" + quoted.replace("\n", "<br>")
    html += "</body></html>"
    head = _head(
        reply,
        "gb2312",
        [
            "Thread-Topic: " + _encoded(reply.subject, "gb2312"),
            "Thread-Index: AQHZb3V4bG9vcHRlc3RpbmcxMjM0NTY3OA==",
            "Content-Language: zh-CN",
            "X-MS-Has-Attach:",
            "X-MS-TNEF-Correlator:",
        ],
    )
    body = [
        'Content-Type: multipart/alternative; boundary="_000_OUTLOOK_"',
        "",
        "--_000_OUTLOOK_",
        'Content-Type: text/plain; charset="gb2312"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(plain, "gb18030"),
        "",
        "--_000_OUTLOOK_",
        'Content-Type: text/html; charset="gb2312"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(html, "gb18030"),
        "",
        "--_000_OUTLOOK_--",
        "",
    ]
    return CRLF.join(head + body).encode("ascii")


def gmail(reply: Reply) -> bytes:
    """Gmail: UTF-8 quoted-printable text and HTML, the quote after "On ... wrote:" with '>' lines."""
    quoted = ""
    if reply.quoted:
        quoted = "\n\nOn Mon, Nov 23, 2026 at 9:00 AM VoxLoop <service@shop.example> wrote:\n\n" + "\n".join(
            "> " + line for line in reply.quoted.splitlines()
        )
    plain = quopri.encodestring((reply.text + quoted).replace("\n", CRLF).encode()).decode()
    html_text = reply.text.replace("\n", "<br>")
    html_quote = reply.quoted.replace("\n", "<br>")
    html = quopri.encodestring(
        f'<div dir="ltr">{html_text}</div><br><div class="gmail_quote"><blockquote class="gmail_quote">'
        f"{html_quote}</blockquote></div>".encode()
    ).decode()
    head = _head(reply, "utf-8", ["X-Gm-Message-State: AOJu0YwVoxLoopTest", "X-Google-Smtp-Source: AGHT+IE"])
    body = [
        'Content-Type: multipart/alternative; boundary="000000000000a1b2c3"',
        "",
        "--000000000000a1b2c3",
        'Content-Type: text/plain; charset="UTF-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        plain,
        "",
        "--000000000000a1b2c3",
        'Content-Type: text/html; charset="UTF-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        html,
        "",
        "--000000000000a1b2c3--",
        "",
    ]
    return CRLF.join(head + body).encode("ascii")


def qq_mail(reply: Reply) -> bytes:
    """QQ Mail (web): GB18030 base64, HTML only, the quote below "------------------ 原始邮件 ------------------"."""
    quote = ""
    if reply.quoted:
        quote = (
            "<div><br></div><div>------------------&nbsp;原始邮件&nbsp;------------------</div>"
            '<div style="font-size:12px;background:#efefef;padding:8px;"><div><b>发件人:</b>&nbsp;"VoxLoop"'
            "&lt;service@shop.example&gt;;</div></div><div><br></div>" + reply.quoted.replace("\n", "<br>")
        )
    html = "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=GB18030\"><div>" + reply.text.replace(
        "\n", "<br>"
    ) + "</div>" + quote  # fmt: skip
    head = _head(
        reply, "gb18030", ["X-QQ-MIME: TCMime 1.0 by Tencent", "X-Mailer: QQMail 2.x", "X-QQ-Mailer: QQMail 2.x"]
    )
    body = [
        'Content-Type: multipart/alternative; boundary="----=_NextPart_QQ_1"',
        "",
        "------=_NextPart_QQ_1",
        'Content-Type: text/html; charset="gb18030"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(html, "gb18030"),
        "",
        "------=_NextPart_QQ_1--",
        "",
    ]
    return CRLF.join(head + body).encode("ascii")


def foxmail(reply: Reply) -> bytes:
    """Foxmail 7 (Windows): GB2312 base64 plain text, the quote below "发件人：" and 发送时间 lines."""
    quoted = ""
    if reply.quoted:
        quoted = "\n\n\n发件人： VoxLoop\n发送时间： 2026-11-23 09:00\n收件人： 李娜\n主题： earlier\n\n" + reply.quoted
    head = _head(reply, "gb2312", ["X-Mailer: Foxmail 7.2.25.228[cn]", "X-Priority: 3"])
    body = [
        'Content-Type: text/plain; charset="gb2312"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(reply.text + quoted, "gb18030"),
        "",
    ]
    return CRLF.join(head + body).encode("ascii")


CLIENTS = {"outlook": outlook, "gmail": gmail, "qq_mail": qq_mail, "foxmail": foxmail}
