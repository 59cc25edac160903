"""Demo improvement actions in every status, three of them with a measured story the chart tells at a glance:

* effective (closed): new carrier for the robot vacuum RV-8 — complaints about logistics fell from about 20%
  to 7% of its feedback on the implementation date, and stayed there;
* not effective (closed): new packaging for the air purifier AP-300 — its quality complaints went on as before
  (slightly up), so the line stays on or above the expected band;
* too early: a water heater WH-60 installation guide implemented six days ago;
* verifying: a simpler SW-2 smartwatch pairing flow implemented 20 days ago, measured at 14 days: the line has
  dropped below the expected band, but the 30-day measurement is still to come.

Where the general demo has customers, the stories' items are spread over them, so the verdict page also shows
the repeat-complaint rate and the NPS/CSAT of the affected customers.

Their products get extra demo feedback (written as analysed rows: kind, sentiment and topic set, so the story
does not depend on what the classifier makes of each text); every action goes through voxloop.actions.services.
Idempotent: a second run adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.db import transaction
from django.utils import timezone

from voxloop.accounts.models import Department, User
from voxloop.actions import incidents, services
from voxloop.actions.models import ActionOrigin, ActionType, ImprovementAction
from voxloop.analysis.models import FeedbackTopic
from voxloop.demo import phrases as P
from voxloop.feedback.models import AnalysisStatus, Customer, Feedback, Product

SOURCE = "demo-actions"  # not "demo:…": the generated demo feedback is counted by that prefix


def _story(
    rng: random.Random,
    product: Product,
    topic: str,
    first: date,
    days: int,
    per_day: int,
    rate_before: float,
    rate_after: float,
    change_on: date,
    customers: list[int] | None = None,
) -> int:
    """``per_day`` analysed items a day about ``product``; a share ``rate`` of them complaints about ``topic``;
    each from one of ``customers`` (ids) when given."""
    tz = timezone.get_current_timezone()
    negatives, positives = P.TOPICS[topic][0], P.TOPICS[topic][1]
    rows, complaint_flags = [], []
    for d in range(days):
        day = first + timedelta(days=d)
        rate = rate_after if day >= change_on else rate_before
        for i in range(rng.randint(per_day - 5, per_day + 5)):
            complaint = rng.random() < rate
            text = rng.choice(negatives if complaint else positives).format(n=rng.randint(2, 9), p=product.name)
            at = datetime.combine(day, dtime(8)) + timedelta(minutes=rng.randint(0, 12 * 60))
            rows.append(Feedback(
                channel="webform", source=SOURCE, external_id=f"act-{product.code}-{d}-{i}", text=text,
                received_at=timezone.make_aware(at, tz), product=product, language="zh",
                kind="complaint" if complaint else "praise", sentiment="negative" if complaint else "positive",
                sentiment_score=-0.7 if complaint else 0.6, analysis_status=AnalysisStatus.DONE,
                customer_id=rng.choice(customers) if customers else None,
            ))  # fmt: skip
            complaint_flags.append(complaint)
    created = Feedback.objects.bulk_create(rows, batch_size=1000)
    FeedbackTopic.objects.bulk_create(
        [FeedbackTopic(feedback_id=f.pk, code=topic, top_code=topic) for f in created], batch_size=1000
    )
    return len(created)


def load_demo_actions(seed: int = 42) -> int:
    """Create the demo actions (and their products' extra feedback); returns the actions created."""
    if ImprovementAction.objects.filter(origin_ref__startswith="demo-").exists():
        return 0
    rng = random.Random(seed)
    today = timezone.localdate()
    manager = User.objects.get(username="manager")
    agent = User.objects.get(username="agent")
    analyst = User.objects.get(username="analyst")
    service = Department.objects.get(name="客户服务部")
    quality = Department.objects.get(name="质量管理部")
    if quality.manager_id is None:
        Department.objects.filter(pk=quality.pk).update(manager=manager)
        quality.refresh_from_db()
    products = {p.code: p for p in Product.objects.filter(code__in=["RV-8", "AP-300", "WH-60", "SW-2"])}
    effective_on = today - timedelta(days=45)
    flat_on = today - timedelta(days=62)
    early_on = today - timedelta(days=6)
    verifying_on = today - timedelta(days=20)
    # A few hundred customers, so that some complain twice (the repeat rate) and their survey answers count.
    customers = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:400])
    with transaction.atomic():
        _story(rng, products["RV-8"], "logistics", effective_on - timedelta(days=100), 144, 30, 0.20, 0.07,
               effective_on, customers)  # fmt: skip
        _story(rng, products["AP-300"], "quality", flat_on - timedelta(days=100), 161, 45, 0.18, 0.22, flat_on,
               customers)  # fmt: skip
        _story(rng, products["WH-60"], "quality", early_on - timedelta(days=100), 105, 20, 0.22, 0.22, early_on)
        _story(rng, products["SW-2"], "usability", verifying_on - timedelta(days=100), 119, 30, 0.24, 0.10,
               verifying_on, customers)  # fmt: skip

    def new(
        title: str,
        ref: str,
        *,
        owner: User,
        department: Department,
        due: int,
        topic: str,
        product: str = "",
        action_type: str = ActionType.CORRECTIVE,
        origin: str = ActionOrigin.PARETO,
        plan: str = "",
        created: date | None = None,
        description: str = "",
    ) -> ImprovementAction:
        return services.create_action(
            analyst, title=title, department=department, owner=owner, due_date=today + timedelta(days=due),
            topics=[topic], products=[str(products[product].pk)] if product else [], action_type=action_type,
            origin=origin, origin_ref=f"demo-{ref}", plan=plan, description=description, today=created,
        )  # fmt: skip

    # effective, closed
    carrier = new("更换扫地机器人 RV-8 的快递承运商", "carrier", owner=agent, department=service, due=-50,
                  topic="logistics", product="RV-8", created=effective_on - timedelta(days=20),
                  description="RV-8 的物流投诉占比约 20%，主要是延迟和外箱压损。",
                  plan="1. 对比三家承运商的时效与破损率\n2. 切换至新承运商\n3. 外箱加固")  # fmt: skip
    services.approve_action(manager, carrier)
    services.start_action(agent, carrier)
    services.implement_action(agent, carrier, effective_on)
    services.measure_effect(carrier, 30)
    services.add_task(agent, carrier, "签订新承运商合同")
    services.add_comment(manager, carrier, "30 天测量结果显示投诉明显下降，可以关闭。")
    carrier.refresh_from_db()
    services.close_action(manager, carrier, effective=True)
    incidents.set_public_note(
        manager, carrier, "我们把扫地机器人 RV-8 换成了新的快递承运商，并加固了外箱：现在大多两天内送达，破损明显减少。",
        "We moved the RV-8 robot vacuum to a new carrier and strengthened its box: most parcels now arrive within "
        "two days, and far fewer arrive damaged.",
    )  # fmt: skip
    # not effective, closed
    packaging = new("空气净化器 AP-300 改用新包装", "packaging", owner=agent, department=quality, due=-60,
                    topic="quality", product="AP-300", created=flat_on - timedelta(days=15),
                    action_type=ActionType.PREVENTIVE, plan="新包装上线，观察质量投诉")  # fmt: skip
    services.approve_action(manager, packaging)
    services.start_action(agent, packaging)
    services.implement_action(agent, packaging, flat_on)
    services.measure_effect(packaging, 60)
    packaging.refresh_from_db()
    if packaging.latest_verdict in ("not_effective", "inconclusive"):
        services.close_action(manager, packaging, effective=False)
    # too early
    guide = new("电热水器 WH-60 安装指引改版", "guide", owner=agent, department=quality, due=20, topic="quality",
                product="WH-60", action_type=ActionType.IMPROVEMENT, origin=ActionOrigin.EMERGING,
                plan="重写安装指引并附视频", created=early_on - timedelta(days=10))  # fmt: skip
    services.approve_action(manager, guide)
    services.start_action(agent, guide)
    services.implement_action(agent, guide, early_on)
    services.measure_now(agent, guide)
    # verifying: the first scheduled measurement (14 days) moved it on; the line is already below the band
    pairing = new("智能手表 SW-2 蓝牙配对流程简化", "pairing", owner=agent, department=quality, due=-25,
                  topic="usability", product="SW-2", action_type=ActionType.IMPROVEMENT, origin=ActionOrigin.DRIVER,
                  plan="App 内配对改为三步并增加引导动画", created=verifying_on - timedelta(days=12))  # fmt: skip
    services.approve_action(manager, pairing)
    services.start_action(agent, pairing)
    services.implement_action(agent, pairing, verifying_on)
    services.measure_effect(pairing, 14)
    # the other statuses, on the general demo data
    new("退款到账时间说明不清", "refund", owner=agent, department=service, due=14, topic="refund",
        origin=ActionOrigin.DRIVER)  # fmt: skip
    approved = new("客服话术培训：态度类投诉", "attitude", owner=manager, department=service, due=10,
                   topic="attitude", action_type=ActionType.CONTAINMENT, origin=ActionOrigin.ALERT)  # fmt: skip
    services.approve_action(manager, approved)
    late = new("价格保护政策上线", "price", owner=agent, department=service, due=-5, topic="price",
               origin=ActionOrigin.CASE, plan="与财务确认价保规则后上线")  # fmt: skip
    services.approve_action(manager, late)
    services.start_action(agent, late)
    services.add_task(agent, late, "财务确认价保规则")
    services.add_task(agent, late, "更新商品详情页说明")
    cancelled = new("更换售后电话系统", "phone", owner=manager, department=service, due=30, topic="speed")
    services.cancel_action(manager, cancelled, "与 IT 的系统升级计划重复")
    services.flag_overdue_actions()
    return ImprovementAction.objects.filter(origin_ref__startswith="demo-").count()
