"""Column mapping: which column of a source file holds which VoxLoop field.

Suggested from header names (Chinese and English synonyms), taken from a preset for common exports,
or from a mapping a user saved for that source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from voxloop.feedback.models import Channel, ImportKind

# Fields a row may fill, per import kind, and which of them are required.
TARGET_FIELDS: dict[str, list[str]] = {
    ImportKind.FEEDBACK: [
        "text", "title", "received_at", "external_id", "rating", "rating_scale", "customer_id", "customer_name",
        "email", "phone", "handle", "product", "product_name", "order_ref", "channel", "thread_key", "attachments",
    ],
    ImportKind.CUSTOMERS: [
        "customer_id", "name", "email", "phone", "handle", "language", "tags", "segment", "opted_out",
    ],
    ImportKind.ORDERS: [
        "order_id", "customer_id", "customer_name", "phone", "email", "ordered_at", "amount", "quantity", "product",
        "product_name", "status",
    ],
}  # fmt: skip
REQUIRED_FIELDS: dict[str, list[str]] = {
    ImportKind.FEEDBACK: ["text"],
    ImportKind.CUSTOMERS: [],
    ImportKind.ORDERS: ["order_id", "ordered_at"],
}

# Header synonyms, compared after lower-casing and removing spaces, underscores and punctuation.
SYNONYMS: dict[str, list[str]] = {
    "text": ["text", "content", "feedback", "comment", "comments", "review", "reviewtext", "message", "body",
             "评价内容", "评论内容", "评价", "评论", "内容", "反馈", "反馈内容", "意见", "留言", "投诉内容", "文本",
             "通话摘要", "通话记录", "聊天内容", "消息内容", "正文", "帖子内容", "微博内容", "追评内容"],
    "title": ["title", "subject", "标题", "主题"],
    "received_at": ["receivedat", "date", "time", "datetime", "createdat", "timestamp", "reviewdate", "posteddate",
                    "时间", "日期", "评价时间", "评论时间", "反馈时间", "创建时间", "来电时间", "发布时间", "提交时间",
                    "消息时间", "开始时间"],
    "external_id": ["externalid", "id", "reviewid", "commentid", "ticketid", "callid", "messageid", "postid",
                    "评价id", "评论id", "编号", "记录编号", "工单号", "通话id", "消息id", "帖子id"],
    "rating": ["rating", "score", "stars", "star", "评分", "星级", "打分", "分数", "满意度", "评价等级"],
    "customer_id": ["customerid", "userid", "memberid", "客户id", "客户编号", "用户id", "会员id", "会员号", "买家id"],
    "customer_name": ["customername", "name", "username", "nickname", "author", "客户", "客户名称", "客户姓名",
                      "姓名", "用户名", "昵称", "买家", "买家昵称", "会员名", "作者", "发布者"],
    "name": ["name", "customername", "姓名", "客户名称", "客户姓名"],
    "email": ["email", "mail", "emailaddress", "邮箱", "电子邮件", "邮件地址"],
    "phone": ["phone", "mobile", "tel", "telephone", "phonenumber", "手机", "手机号", "手机号码", "电话", "联系电话",
              "来电号码", "主叫号码"],
    "handle": ["handle", "wechat", "weibo", "微信", "微信号", "微博", "账号"],
    "product": ["product", "sku", "productid", "productcode", "itemid", "商品id", "商品编码", "sku编码", "产品编码"],
    "product_name": ["productname", "item", "itemname", "商品", "商品名称", "宝贝名称", "产品", "产品名称", "门店",
                     "门店名称", "服务"],
    "order_ref": ["orderref", "orderid", "ordernumber", "orderno", "订单号", "订单编号", "订单id"],
    "order_id": ["orderid", "ordernumber", "orderno", "订单号", "订单编号", "订单id"],
    "ordered_at": ["orderedat", "orderdate", "ordertime", "date", "下单时间", "订单时间", "付款时间", "日期"],
    "amount": ["amount", "total", "price", "paid", "金额", "订单金额", "实付金额", "支付金额", "总价"],
    "quantity": ["quantity", "qty", "数量", "购买数量"],
    "status": ["status", "orderstatus", "状态", "订单状态"],
    "channel": ["channel", "渠道", "来源渠道"],
    "thread_key": ["threadkey", "conversationid", "sessionid", "会话id", "会话编号"],
    "language": ["language", "lang", "语言"],
    "tags": ["tags", "labels", "标签"],
    "segment": ["segment", "level", "tier", "客户分层", "会员等级", "等级"],
    "opted_out": ["optedout", "unsubscribed", "donotcontact", "退订", "拒绝联系"],
    "attachments": ["attachments", "images", "pictures", "附件", "图片", "晒图"],
}  # fmt: skip


@dataclass(frozen=True)
class Preset:
    code: str
    label: Any
    channel: str
    source: str
    columns: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)


# Column names as these exports commonly name them; a user can adjust and save a copy.
PRESETS: dict[str, Preset] = {
    p.code: p
    for p in [
        Preset("taobao", _("Taobao / Tmall review export"), Channel.REVIEW, "taobao",
               {"external_id": "评价ID", "text": "评价内容", "received_at": "评价时间", "rating": "评分",
                "customer_name": "买家昵称", "product_name": "宝贝名称", "order_ref": "订单号"}),
        Preset("jd", _("JD.com review export"), Channel.REVIEW, "jd",
               {"external_id": "评论ID", "text": "评论内容", "received_at": "评论时间", "rating": "评分",
                "customer_name": "用户昵称", "product": "商品编号", "product_name": "商品名称", "order_ref": "订单号"}),
        Preset("meituan", _("Meituan / Dianping review export"), Channel.REVIEW, "meituan",
               {"external_id": "评价ID", "text": "评价内容", "received_at": "评价时间", "rating": "总体评分",
                "customer_name": "用户昵称", "product_name": "门店名称", "order_ref": "订单号"}),
        Preset("call_centre", _("Call-centre log"), Channel.HOTLINE, "call-centre",
               {"external_id": "通话ID", "text": "通话摘要", "received_at": "来电时间", "phone": "来电号码",
                "customer_name": "客户姓名", "customer_id": "客户编号", "product_name": "产品"}),
        Preset("chat", _("Chat transcript export"), Channel.CHAT, "chat",
               {"external_id": "消息ID", "thread_key": "会话ID", "text": "消息内容", "received_at": "消息时间",
                "customer_id": "访客ID", "customer_name": "访客昵称"}),
        Preset("social", _("Social-listening export"), Channel.SOCIAL, "social",
               {"external_id": "帖子ID", "text": "帖子内容", "received_at": "发布时间", "handle": "作者",
                "customer_name": "作者"}),
    ]
}  # fmt: skip


def _key(header: str) -> str:
    return re.sub(r"[\s_\-:：/()（）.#]+", "", str(header)).lower()


def suggest_mapping(headers: list[str], kind: str = ImportKind.FEEDBACK) -> dict[str, str]:
    """{field: header} for every field whose synonym matches a header; each header used once."""
    by_key = {_key(h): h for h in headers}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for target in TARGET_FIELDS[kind]:
        for synonym in SYNONYMS.get(target, [target]):
            header = by_key.get(_key(synonym))
            if header and header not in used:
                mapping[target] = header
                used.add(header)
                break
    return mapping


def preset_mapping(code: str, headers: list[str]) -> dict[str, str]:
    preset = PRESETS[code]
    present = set(headers)
    mapping = {f: col for f, col in preset.columns.items() if col in present}
    # Headers the preset does not know are still matched by synonym.
    for target, header in suggest_mapping([h for h in headers if h not in mapping.values()]).items():
        mapping.setdefault(target, header)
    return mapping


def missing_required(mapping: dict[str, str], kind: str, defaults: dict[str, Any] | None = None) -> list[str]:
    missing = [f for f in REQUIRED_FIELDS[kind] if f not in mapping]
    if kind in (ImportKind.CUSTOMERS, ImportKind.ORDERS) and not {"customer_id", "phone", "email"} & set(mapping):
        missing.append("customer_id | phone | email")
    return missing


def apply_mapping(values: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """The row's mapped fields; unmapped columns are kept in the raw payload only."""
    return {target: values.get(header) for target, header in mapping.items() if header in values}
