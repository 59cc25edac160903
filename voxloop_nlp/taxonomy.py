"""Topic taxonomy: hierarchical codes (`parent.child`), zh/en names and seed phrases.

The default ships the 11 stable top-level codes of issue 3. The Django side stores an admin-edited copy
and passes it back with `Taxonomy.from_dicts(...)`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from voxloop_nlp.cues import CueMatcher

TOP_LEVEL_CODES = (
    "quality", "attitude", "speed", "logistics", "price", "refund",
    "repair", "communication", "account", "usability", "environment",
)  # fmt: skip


@dataclass(frozen=True)
class Topic:
    code: str
    name_zh: str
    name_en: str
    parent: str | None = None
    phrases_zh: tuple[str, ...] = ()
    phrases_en: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "parent": self.parent,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "phrases_zh": list(self.phrases_zh),
            "phrases_en": list(self.phrases_en),
        }


class TaxonomyError(ValueError):
    pass


@dataclass
class Taxonomy:
    topics: dict[str, Topic] = field(default_factory=dict)

    @classmethod
    def from_dicts(cls, rows: Iterable[dict[str, Any]]) -> Taxonomy:
        topics: dict[str, Topic] = {}
        for i, row in enumerate(rows, start=1):
            code = str(row.get("code") or "").strip()
            if not code:
                raise TaxonomyError(f"Topic #{i} has no code.")
            parent = row.get("parent") or None
            if parent is None and "." in code:
                parent = code.rsplit(".", 1)[0]
            topics[code] = Topic(
                code=code,
                parent=parent,
                name_zh=str(row.get("name_zh") or code),
                name_en=str(row.get("name_en") or code),
                phrases_zh=tuple(p.strip() for p in row.get("phrases_zh") or () if p and p.strip()),
                phrases_en=tuple(p.strip() for p in row.get("phrases_en") or () if p and p.strip()),
            )
        for t in topics.values():
            if t.parent and t.parent not in topics:
                raise TaxonomyError(f"Topic '{t.code}' has unknown parent '{t.parent}'.")
        return cls(topics)

    def to_dicts(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.topics.values()]

    def name(self, code: str, language: str) -> str:
        t = self.topics[code]
        return t.name_en if language == "en" else t.name_zh

    def ancestors(self, code: str) -> list[str]:
        out = []
        parent = self.topics[code].parent
        while parent:
            out.append(parent)
            parent = self.topics[parent].parent if parent in self.topics else None
        return out

    @cached_property
    def phrase_index(self) -> dict[str, list[str]]:
        """lower-cased phrase → topic codes (a phrase may belong to several topics)."""
        index: dict[str, list[str]] = {}
        for t in self.topics.values():
            for p in (*t.phrases_zh, *t.phrases_en):
                codes = index.setdefault(p.lower(), [])
                if t.code not in codes:
                    codes.append(t.code)
        return index

    @cached_property
    def matcher(self) -> CueMatcher:
        return CueMatcher(self.phrase_index)

    @cached_property
    def fingerprint(self) -> str:
        blob = json.dumps(self.to_dicts(), sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha1(blob, usedforsecurity=False).hexdigest()[:12]


def _t(code: str, zh: str, en: str, pzh: str = "", pen: str = "") -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": zh,
        "name_en": en,
        "phrases_zh": pzh.split(),
        "phrases_en": pen.split("|") if pen else [],
    }


_DEFAULT = [
    _t(
        "quality",
        "产品质量",
        "Product quality",
        "质量 做工 材质 品质 次品 瑕疵 劣质 假货 正品 耐用 结实 "
        "味道 口味 口感 好吃 难吃 美味 饭菜 菜品 食物 分量 份量 效果 手感 质感 性能 面料 布料 音质 画质",
        "quality|poorly made|cheap material|defect|defective|fake|durable|well made|"
        "food|dish|dishes|meal|menu|taste|tasty|delicious|flavor|flavour|bland|portion|material|fabric|"
        "performance",
    ),
    _t(
        "quality.defect",
        "故障与损坏",
        "Defects and faults",
        "坏了 故障 死机 不工作 失灵 开不了机 漏水 漏电 裂了 碎了 断了 起球 掉色 发热 发烫 卡顿 闪退 噪音",
        "broken|stopped working|doesn't work|does not work|not working|faulty|malfunction|crack|cracked|leak|"
        "overheat|died",
    ),
    _t(
        "quality.freshness",
        "新鲜度与保质期",
        "Freshness and expiry",
        "新鲜 过期 变质 发霉 临期 保质期 烂了 不新鲜",
        "expired|stale|rotten|moldy|spoiled|not fresh|fresh",
    ),
    _t(
        "quality.description",
        "与描述不符",
        "Not as described",
        "与描述不符 和描述不符 货不对板 图片不符 色差 尺码不对 偏大 偏小 不一样",
        "not as described|different from the picture|wrong size|doesn't match|does not match",
    ),
    _t(
        "attitude",
        "服务态度",
        "Service attitude",
        "态度 服务员 客服 热情 耐心 冷淡 敷衍 不耐烦 粗鲁 礼貌 服务好 服务差 服务周到 服务 店员 服务生 前台 老板",
        "attitude|rude|polite|friendly|unfriendly|impolite|helpful staff|staff|waiter|waitress|"
        "service|server|manager|hostess|bartender|attentive|courteous|welcoming",
    ),
    _t(
        "attitude.agent",
        "客服人员",
        "Support agents",
        "客服 人工客服 售后客服 专员 接线员",
        "agent|customer service|support team|representative|rep",
    ),
    _t(
        "speed",
        "响应与等待时间",
        "Response and waiting time",
        "等了 等待 排队 太慢 很慢 半天 迟迟 一直没 效率 及时 很快 速度 "
        "好慢 真慢 挺慢 超慢 慢死 挺快 好快 超快 真快 蛮快 神速 迅速 准时 按时 上菜 出餐 等太久 等好久",
        "wait|waiting|waited|slow|took forever|hours|quick|fast|prompt|long time|minutes|ages|on time|timely|"
        "quickly|promptly|forever",
    ),
    _t(
        "speed.response",
        "响应速度",
        "Response time",
        "不回复 没人回复 没人理 回复慢 回复很快 响应 没人接 打不通",
        "no response|never replied|no reply|response time|didn't respond|respond|nobody answered",
    ),
    _t(
        "logistics",
        "物流配送",
        "Logistics and delivery",
        "物流 快递 发货 送货 配送 运输 到货 签收 包装 快递员 收货地址 改地址 "
        "送餐 外卖 骑手 送餐员 配送员 外卖员 外卖小哥 快递小哥 送餐小哥 送达 送到 送来 送过来 派送 揽收 顺丰 洒了 撒了",
        "delivery|shipping|shipping address|shipment|courier|package|parcel|arrived|shipped|tracking|"
        "delivered|arrive|dispatched",
    ),
    _t(
        "logistics.delay",
        "配送延迟",
        "Delivery delay",
        "还没到 没收到 迟迟不发货 延迟 发货慢 物流慢 晚到 超时",
        "late|delayed|delay|still not arrived|never arrived|not received|hasn't arrived",
    ),
    _t(
        "logistics.damage",
        "运输破损",
        "Damaged in transit",
        "破损 压坏 摔坏 包装破 外箱破 运输中损坏",
        "damaged|crushed|box was broken|arrived broken|smashed",
    ),
    _t(
        "logistics.wrong_item",
        "错发漏发",
        "Wrong or missing items",
        "错发 漏发 少发 发错 少了 缺件",
        "wrong item|missing item|missing part|incomplete order",
    ),
    _t(
        "price",
        "价格与费用",
        "Price, fees and billing",
        "价格 价钱 贵 便宜 性价比 划算 不值 收费 费用 涨价 优惠 降价 "
        "实惠 物美价廉 价位 超值 配送费 运费 餐盒费 满减 红包 块钱 打折 折扣 原价 差价",
        "price|expensive|cheap|overpriced|value for money|fee|fees|cost|pricey|worth|"
        "value|affordable|reasonably priced|priced|pricing|discount|bucks",
    ),
    _t(
        "price.billing",
        "账单与扣费",
        "Billing and charges",
        "扣费 乱收费 多收 重复扣款 账单 发票 扣款",
        "charged|charge|double charged|bill|billing|invoice|overcharged",
    ),
    _t(
        "refund",
        "退换货与退款",
        "Returns, refunds and exchanges",
        "退货 退款 换货 退钱 退换 七天无理由 退回",
        "refund|return|exchange|money back|send it back",
    ),
    _t(
        "refund.delay",
        "退款进度",
        "Refund progress",
        "退款还没到 退款慢 迟迟不退 还没退款 不给退",
        "refund not received|still no refund|refund delay|waiting for my refund|won't refund|refused to refund",
    ),
    _t(
        "repair",
        "维修安装与售后",
        "Repair, installation and after-sales",
        "维修 修理 保修 售后 安装 师傅 上门 返修 检修",
        "repair|warranty|installation|install|technician|after-sales|fix",
    ),
    _t(
        "repair.installation",
        "安装服务",
        "Installation",
        "安装 上门安装 安装师傅 装机",
        "installation|install|installer|set up",
    ),
    _t(
        "communication",
        "沟通与信息透明",
        "Communication and transparency",
        "通知 告知 说明 沟通 解释 跟进 回访 承诺 说好的 信息 不清楚 没说",
        "inform|informed|explain|explanation|follow up|follow-up|update|kept me posted|communication|promised",
    ),
    _t(
        "account",
        "账户支付与App",
        "Account, payment and app",
        "账号 账户 登录 密码 注册 验证码 支付 付款 会员 积分 app 软件 小程序",
        "account|login|log in|password|sign up|payment|pay|app|membership|verification code",
    ),
    _t(
        "account.login",
        "登录与账号安全",
        "Login and account security",
        "登录不了 无法登录 登不上 被盗 冻结 注销 销户",
        "can't log in|cannot log in|locked out|hacked|delete my account|close my account",
    ),
    _t(
        "account.payment",
        "支付问题",
        "Payment problems",
        "支付失败 付款失败 扣了钱 付不了款 支付宝 微信支付",
        "payment failed|card declined|can't pay|payment method",
    ),
    _t(
        "usability",
        "功能与易用性",
        "Features and ease of use",
        "功能 操作 使用 好用 难用 复杂 方便 界面 设置 说明书 体验",
        "feature|features|easy to use|hard to use|confusing|interface|ui|user-friendly|works|usability|manual",
    ),
    _t(
        "environment",
        "环境与设施卫生",
        "Environment, facilities and hygiene",
        "环境 卫生 干净 脏 设施 房间 装修 噪音 安静 吵 停车 空调 异味 蟑螂 床 "
        "氛围 装潢 交通 地段 座位 大堂 店面 卫生间 浴室 洗手间 厕所",
        "environment|clean|dirty|noisy|quiet|room|facilities|hygiene|smell|decor|parking|ambience|atmosphere|"
        "ambiance|music|loud|cozy|crowded|seating|interior|vibe|location|spacious",
    ),
]


@lru_cache(maxsize=1)
def _default() -> Taxonomy:
    return Taxonomy.from_dicts(_DEFAULT)


def default_taxonomy() -> Taxonomy:
    return _default()
