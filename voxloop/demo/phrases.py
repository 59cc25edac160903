"""Phrase pools for demo feedback, written for VoxLoop (no text from any dataset).

Each topic has complaint, praise, suggestion and question phrases in Chinese and English; sentences are
assembled from them with products, numbers and connectives, so thousands of items read differently.
"""

PRODUCTS = [
    ("AP-300", "空气净化器 AP-300", "Air purifier AP-300", "家电"),
    ("RV-8", "扫地机器人 RV-8", "Robot vacuum RV-8", "家电"),
    ("WH-60", "电热水器 WH-60", "Water heater WH-60", "家电"),
    ("SW-2", "智能手表 SW-2", "Smartwatch SW-2", "数码"),
    ("EB-5", "蓝牙耳机 EB-5", "Wireless earbuds EB-5", "数码"),
    ("WM-10", "滚筒洗衣机 WM-10", "Front-load washer WM-10", "家电"),
    ("KT-1", "电水壶 KT-1", "Electric kettle KT-1", "小家电"),
    ("VIP", "会员服务", "Membership", "服务"),
    ("STORE", "线下门店服务", "In-store service", "服务"),
    ("INSTALL", "上门安装服务", "Home installation", "服务"),
]

# topic -> (complaints zh, praise zh, complaints en, praise en)
TOPICS = {
    "logistics": (
        ["快递太慢了，下单{n}天才到", "外包装破了，{p}外壳有明显划痕", "物流信息{n}天没有更新", "快递员没打电话就放在门口了",
         "说好次日达，结果拖了{n}天", "收到的箱子被压扁了"],
        ["物流很快，隔天就到了", "包装很严实，一点没坏", "快递小哥很负责，送货上楼"],
        ["delivery took {n} days, far longer than promised", "the box arrived crushed and the {p} was scratched",
         "tracking has not updated for {n} days", "the courier left the parcel outside without calling"],
        ["arrived the next day, well packed", "fast delivery and the courier was polite"],
    ),
    "quality": (
        ["{p}用了{n}天就坏了", "{p}噪音特别大，晚上根本没法用", "做工粗糙，接缝处有毛刺", "和宣传的效果差很多",
         "{p}充电口松动，经常充不进电", "收到就有异味，散了{n}天还有"],
        ["{p}质量很好，用了{n}个月没出问题", "做工精致，比想象中好", "效果很明显，家里人都说好"],
        ["the {p} stopped working after {n} days", "the {p} is very noisy", "build quality feels cheap",
         "it does not perform as advertised"],
        ["the {p} is solid and works exactly as described", "great quality for the money"],
    ),
    "attitude": (
        ["客服态度很差，说话不耐烦", "门店店员爱答不理", "打了{n}次电话，客服一直推脱", "客服直接挂我电话"],
        ["客服小姐姐很耐心，一步步教我", "店员服务热情周到", "售后态度非常好，点赞"],
        ["the agent was rude and impatient", "staff in the store ignored me", "support kept passing me around"],
        ["the agent was patient and friendly", "excellent, courteous service"],
    ),
    "speed": (
        ["在线客服排队{n}分钟没人回复", "热线一直占线，等了半小时", "留言{n}天了还没人联系我"],
        ["客服秒回，问题马上解决了", "热线一打就通，效率很高"],
        ["waited {n} minutes in the chat queue", "nobody replied to my message for {n} days"],
        ["support answered within a minute", "quick response, problem solved fast"],
    ),
    "price": (
        ["刚买完就降价{n}元，太坑了", "价格比别家贵不少", "账单里多扣了{n}元", "运费收得莫名其妙"],
        ["性价比很高", "活动价很划算"],
        ["the price dropped by {n} right after I bought it", "I was charged twice on my bill"],
        ["great value for money", "the discount made it a bargain"],
    ),
    "refund": (
        ["申请退货{n}天了还没退款", "退款被无故拒绝", "换货流程太麻烦，要填好多表", "说好七天无理由，结果不给退"],
        ["退款很快，第二天就到账了", "换货很顺利，没有为难"],
        ["my refund has been pending for {n} days", "the return was rejected without a reason"],
        ["refund arrived the next day", "the exchange was painless"],
    ),
    "repair": (
        ["报修{n}天了师傅还没上门", "安装师傅迟到两个小时", "维修后同样的问题又出现了", "上门安装还要额外收费"],
        ["安装师傅很专业，还帮忙清理了现场", "维修很及时，一次就修好了"],
        ["the technician has not come in {n} days", "after the repair the same fault came back"],
        ["the installer was professional and tidy", "repaired on the first visit"],
    ),
    "communication": (
        ["没人告诉我订单进度", "客服说法前后不一致", "通知短信发得太晚了"],
        ["每一步都有短信通知，很清楚", "客服主动回访，很贴心"],
        ["nobody told me what was happening with my order", "I got different answers from different agents"],
        ["they kept me updated at every step", "they called back to check everything was fine"],
    ),
    "account": (
        ["App登录不上，一直提示验证码错误", "支付时一直转圈，扣了钱订单却没生成", "会员积分莫名其妙清零了"],
        ["App很好用，下单很方便", "支付流程很顺畅"],
        ["I cannot log in to the app", "payment went through but no order was created"],
        ["the app is easy to use", "checkout was smooth"],
    ),
    "usability": (
        ["说明书看不懂", "{p}的设置太复杂了，找了半天", "App配网总是失败"],
        ["操作很简单，老人也会用", "功能很实用"],
        ["the manual is confusing", "setting up the {p} is too complicated"],
        ["very easy to use", "the features are genuinely useful"],
    ),
    "environment": (
        ["门店里太热了，空调坏了也没人修", "服务大厅很乱，排队没有秩序", "卫生间很脏"],
        ["门店环境干净整洁", "等候区很舒服"],
        ["the store was hot and messy", "the waiting area was dirty"],
        ["the store was clean and pleasant"],
    ),
}  # fmt: skip

SUGGESTIONS_ZH = ["希望能提供视频教程", "建议增加夜间模式", "希望客服能延长服务时间到晚上十点", "建议包装再加固一些",
                  "希望App能显示维修进度", "建议出一个更大容量的版本", "希望能支持微信支付分期", "建议门店增加停车位"]  # fmt: skip
SUGGESTIONS_EN = ["it would be nice if it came with a charger", "please add a dark mode to the app",
                  "I wish support was open in the evening", "please offer video tutorials"]  # fmt: skip
QUESTIONS_ZH = ["请问{p}的保修期是多久？", "{p}可以开发票吗？", "请问滤芯多久换一次？", "会员积分怎么兑换？",
                "请问可以预约周末安装吗？"]  # fmt: skip
QUESTIONS_EN = [
    "how long is the warranty on the {p}?",
    "can I get an invoice?",
    "can I book installation on a weekend?",
]
URGENT_ZH = ["{p}充电时冒烟了，差点起火！", "热水器漏电，家里老人被电了一下", "再不处理我就投诉到12315",
             "已经找了律师，准备起诉", "不解决我就发微博曝光你们", "要求退货退款，再也不买你们家的东西了"]  # fmt: skip
URGENT_EN = ["the {p} caught fire while charging!", "I got an electric shock from the {p}",
             "fix this or I will cancel my account", "I have contacted my lawyer"]  # fmt: skip
# "第二次反馈了" / "Second time writing" only open real repeat complaints (generator.REPEAT_SHARE).
OPENERS_ZH = ["", "", "你好，", "客服你好，", "说实话，", "买了{n}天，"]
CLOSERS_ZH_NEG = ["", "。", "，希望尽快处理。", "，请给个说法。", "！", "，失望。", "，太让人失望了。"]
CLOSERS_ZH_POS = ["", "。", "，总体还算满意。", "！", "，会推荐给朋友。", "，谢谢！"]
OPENERS_EN = ["", "Hi, ", "Honestly, "]
CLOSERS_EN_NEG = [".", ". Please fix this.", ". Very disappointed.", "!"]
CLOSERS_EN_POS = [".", "!", ". Would recommend.", ". Thank you!"]
NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "建华",
    "晓东",
]
EN_NAMES = [
    "Alex Chen",
    "Maria Lopez",
    "John Smith",
    "Priya Nair",
    "Tom Becker",
    "Emma Wilson",
    "Kenji Sato",
    "Lina Park",
]
