"""Raw test messages, written as bytes the way real mail clients send them."""

from __future__ import annotations

import base64


def gbk_complaint() -> bytes:
    """Foxmail-style: GB2312-declared headers (with a GBK-only character) and a GBK base64 body."""
    subject = "=?GB2312?B?" + base64.b64encode("投诉：洗衣机漏水，堃".encode("gbk")).decode() + "?="
    name = "=?GBK?B?" + base64.b64encode("张伟".encode("gbk")).decode() + "?="
    body = base64.b64encode(
        "你好，\r\n我上周买的洗衣机一直漏水，客服电话打不通。\r\n请尽快处理！\r\n".encode("gbk")
    ).decode()
    return (
        f"From: {name} <ZhangWei@Example.CN>\r\n"
        "To: service@shop.example\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 02 Nov 2026 09:15:00 +0800\r\n"
        "Message-ID: <gbk-001@example.cn>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="gb2312"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode("ascii")


def reply_with_quote() -> bytes:
    """A reply in the same thread (References), quoting the earlier message, with an attachment."""
    photo = base64.b64encode(b"\x89PNG\r\n\x1a\nfake-photo-bytes" * 10).decode()
    return (
        "From: =?UTF-8?B?" + base64.b64encode("张伟".encode()).decode() + "?= <zhangwei@example.cn>\r\n"
        "To: service@shop.example\r\n"
        "Subject: =?UTF-8?B?" + base64.b64encode("回复：投诉：洗衣机漏水，堃".encode()).decode() + "?=\r\n"
        "Date: Tue, 03 Nov 2026 10:00:00 +0800\r\n"
        "Message-ID: <reply-002@example.cn>\r\n"
        "In-Reply-To: <agent-answer-1@shop.example>\r\n"
        "References: <gbk-001@example.cn> <agent-answer-1@shop.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XYZ"\r\n'
        "\r\n"
        "--XYZ\r\n"
        'Content-Type: multipart/alternative; boundary="ALT"\r\n'
        "\r\n"
        "--ALT\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "照片附上了，还是漏水。\r\n"
        "\r\n"
        "在 2026年11月2日 12:00，客服 <service@shop.example> 写道：\r\n"
        "> 您好，请提供漏水位置的照片。\r\n"
        "--ALT\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        "<p>照片附上了，还是漏水。</p>\r\n"
        "--ALT--\r\n"
        "--XYZ\r\n"
        'Content-Type: image/png; name="=?UTF-8?B?' + base64.b64encode("漏水.png".encode()).decode() + '?="\r\n'
        "Content-Disposition: attachment\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{photo}\r\n"
        "--XYZ--\r\n"
    ).encode("utf-8")


def html_only(message_id: str = "<html-003@example.com>", subject: str = "Order #123 late") -> bytes:
    return (
        "From: Jane Doe <jane@example.com>\r\n"
        f"Subject: {subject}\r\n"
        "Date: Wed, 04 Nov 2026 08:00:00 +0000\r\n"
        f"Message-ID: {message_id}\r\n"
        "Content-Type: text/html; charset=iso-8859-1\r\n"
        "\r\n"
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p>My order is <b>late</b> &amp; nobody answers.</p><p>Caf\xe9 owner</p></body></html>\r\n"
    ).encode("latin-1")


def same_subject_followup() -> bytes:
    """No In-Reply-To/References: threaded by the same normalised subject from the same sender."""
    return (
        b"From: Jane Doe <JANE@example.com>\r\n"
        b"Subject: RE: Order #123 late\r\n"
        b"Date: Thu, 05 Nov 2026 08:00:00 +0000\r\n"
        b"Message-ID: <followup-004@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"Still waiting.\r\n"
        b"\r\n"
        b"-----Original Message-----\r\n"
        b"From: Jane Doe\r\n"
        b"My order is late\r\n"
    )


def raw_8bit_gbk_header() -> bytes:
    """Some clients put raw GBK bytes straight into headers, with no encoded words at all."""
    return (
        b"From: " + "李娜".encode("gbk") + b" <lina@example.cn>\r\n"
        b"Subject: " + "物流太慢".encode("gbk") + b"\r\n"
        b"Date: Fri, 06 Nov 2026 11:00:00 +0800\r\n"
        b"Message-ID: <raw8-005@example.cn>\r\n"
        b"Content-Type: text/plain; charset=gbk\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n" + "快递一周还没到。".encode("gbk") + b"\r\n"
    )


def empty_message() -> bytes:
    return b"X-Nothing: here\r\n\r\n"


def mbox(*messages: bytes) -> bytes:
    out = b""
    for raw in messages:
        body = raw.replace(b"\r\n", b"\n")
        body = b"\n".join((b">" + line if line.startswith(b"From ") else line) for line in body.split(b"\n"))
        out += b"From MAILER-DAEMON Mon Nov  2 09:15:00 2026\n" + body.rstrip(b"\n") + b"\n\n"
    return out
