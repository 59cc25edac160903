"""Hand-written cue lexicons (zh + en) shared by sentiment features, emotions, kind and urgency.

Written for VoxLoop (no third-party lexicon data is copied), so they carry our own licence. Entries
are lower-case and in Simplified Chinese, matching normalised text and jieba tokens.
"""

from __future__ import annotations

NEGATORS = frozenset(
    "不 没 没有 别 无 未 非 不是 不太 并不 毫不 从不 从来不 从没 不会 不够 不能 不用 不怎么 一点也不 一点都不 绝不 "
    "not no never n't dont don't didn't doesn't isn't wasn't aren't weren't won't can't cannot couldn't "
    "wouldn't shouldn't nothing nor without hardly barely".split()
)

DEGREE = {
    **dict.fromkeys(
        "非常 特别 十分 极其 极 超 超级 太 真 真的 相当 很 挺 好 巨 贼 实在 太过 过于 最 格外 异常".split(), 1.8
    ),
    **dict.fromkeys("有点 有些 稍微 略 略微 一点 有一点 一些 稍 比较 还算".split(), 0.6),
    **dict.fromkeys("very really so extremely super totally absolutely too highly incredibly most".split(), 1.8),
    **dict.fromkeys("somewhat slightly bit little fairly rather kinda quite".split(), 0.6),
}

_POSITIVE = (
    "好 不错 满意 喜欢 推荐 值得 划算 实惠 干净 舒适 舒服 方便 快 及时 热情 耐心 周到 专业 漂亮 好看 好吃 好用 "
    "流畅 清晰 精致 完美 优秀 棒 赞 给力 靠谱 惊喜 开心 高兴 感谢 谢谢 满分 超值 物美价廉 性价比高 正品 结实 "
    "耐用 细心 贴心 温馨 安静 宽敞 新鲜 美味 可口 好评 五星 支持 放心 愉快 顺利 便宜 清楚 友好 礼貌 负责 高效 "
    "迅速 神速 到位 整洁 喜爱 赞赏 称赞 感激 幸福 快乐 优质 出色 精美 大方 实用 合适 合身 柔软 清爽 香 甜 "
    "good great excellent love loved lovely like liked nice amazing awesome perfect best fantastic wonderful "
    "happy recommend recommended helpful friendly fast quick clean comfortable delicious tasty easy fine "
    "satisfied pleased impressed reliable worth thanks thank enjoy enjoyed fresh beautiful glad works "
    "superb outstanding pleasant polite professional smooth"
).split()
_NEGATIVE = (
    "差 坏 烂 垃圾 失望 不满 不满意 不好 不行 难用 难吃 难看 糟糕 太差 很差 慢 贵 脏 乱 吵 臭 破 假 假货 骗 骗子 "
    "退货 退款 投诉 差评 后悔 上当 恶心 生气 愤怒 气愤 无语 郁闷 问题 故障 坏了 损坏 破损 漏 卡 卡顿 死机 "
    "发热 发烫 掉色 起球 异味 过期 变质 敷衍 冷淡 态度差 粗鲁 不耐烦 推诿 拖延 等了 催 缺货 少发 漏发 错发 "
    "错 不值 不值得 不推荐 不会再 再也不 一般 凑合 勉强 麻烦 崩溃 闪退 欺骗 坑 坑人 黑心 霸王 扯皮 不靠谱 "
    "不负责 不专业 噪音 潮湿 霉 蟑螂 虫 小 旧 破旧 简陋 太贵 不划算 慢吞吞 不理 没人理 不回复 "
    "bad terrible awful horrible poor worst hate hated disappointed disappointing disappointment broken "
    "slow rude dirty expensive overpriced useless waste wasted problem problems issue issues defective "
    "refund return returned angry annoyed annoying frustrated frustrating unacceptable cancel junk crap "
    "fail failed fails failure bland cold stale mediocre never sucks sucked wrong late damaged noisy "
    "unhelpful unfriendly complaint scam fake leak leaking crash crashes crashed"
).split()

POLARITY: dict[str, float] = {**dict.fromkeys(_POSITIVE, 1.0), **dict.fromkeys(_NEGATIVE, -1.0)}

# Negative judgements whose negation is mild praise (litotes: "不差", "not bad", "no complaints"). Only
# judgements: negating an event cue ("没退款", "no refund yet") is still a complaint, so 退款/refund are not here.
LITOTES = frozenset(
    "差 坏 烂 糟糕 太差 很差 慢 贵 太贵 脏 乱 吵 难吃 难用 难看 失望 不满 不满意 一般 麻烦 问题 毛病 挑剔 敷衍 "
    "bad terrible awful horrible poor worst disappointed disappointing slow rude dirty expensive overpriced "
    "noisy problem problems issue issues complaint complaints mediocre bland".split()
)

# Words that contain a cue but are no judgement ("差不多" is "about the same", "不差钱" is "rich").
NOT_CUES = frozenset("差不多 不差钱 差价 差点 出差 时差 相差 差距 差别".split())

# Lukewarm verdicts: on their own ("ok", "还行", "质量一般") neither praise nor a complaint. Intensified ("很一般",
# "very fine") or negated ("not ok", "不一般") they are judgements again, and the model decides.
LUKEWARM = frozenset(
    "一般 一般般 还行 还可以 还好 凑合 马马虎虎 中规中矩 过得去 ok okay fine alright average so-so".split()
)

# "Could be better": a mild complaint, though its one cue word is positive.
ROOM_FOR_IMPROVEMENT = frozenset(
    [
        "有待提高",
        "有待改进",
        "有待加强",
        "有待改善",
        "还需改进",
        "还需要改进",
        "需要改进",
        "还需提高",
        "还可以更好",
        "还能更好",
        "差强人意",
        "could be better",
        "could have been better",
        "can be better",
        "could be improved",
        "can be improved",
        "needs improvement",
        "need improvement",
        "needs work",
        "room for improvement",
    ]
)
