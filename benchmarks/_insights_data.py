"""Synthetic analysed feedback for the insights dashboards benchmark, generated inside the database.

The same SQL runs on PostgreSQL and on SQLite (a small :class:`Dialect` covers the differences), and every
"random" choice is a hash of the row number, so both databases get the same rows: their roll-ups can be
compared, and a run is reproducible.

Each feedback item is one of ~50 template texts (zh and en, every top-level topic, praise, suggestions,
questions). The templates are analysed once by the real pipeline (voxloop_nlp), and each item gets its
template's analysis exactly as ``voxloop.analysis.services`` stores it: a FeedbackAnalysis row (sentiment
and score, emotions ``[{name, evidence, intensity}]``, topics, needs, keywords...), FeedbackTopic rows
(code, top_code) and the denormalised fields on Feedback. On top of the steady two years:

* an emerging theme no taxonomy topic covers (firmware updates) in the last 21 days, growing;
* an incident: delivery-delay complaints about one product in the last 7 days (for early warning);
* cases for a quarter of the complaints (resolved ones with a root cause: the template's sub-topic), with
  their timeline events; survey responses (NPS, CSAT, CES, CSAT sub-dimensions) after two thirds of the
  cases, whose scores follow the case's template, plus relationship surveys; orders for repurchase.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Two years, as issue 6 sets; --quick halves it (BENCH_SPAN_DAYS) to stay under a minute: the roll-up rebuild
# costs a few milliseconds per day whatever the volume.
SPAN_DAYS = int(os.environ.get("BENCH_SPAN_DAYS", "730"))
HASH_M = 1_000_003  # a prime: ((i * a) % M) walks every residue, so each multiplier is its own stream
CHANNELS = ["hotline", "email", "webform", "chat", "social", "review", "survey", "in_person", "staff", "api"]
SEGMENTS = ["loyal_advocate", "growth_potential", "high_risk_recovery", "at_risk", "others", ""]
N_PRODUCTS, N_TEAMS, N_AGENTS = 50, 10, 60
FOCUS_PRODUCTS = 8  # quality complaints concentrate on the first few products (a driver to find)
INCIDENT_PRODUCT = 3  # the product of the recent delivery-delay incident (offset from the first product)

# (text, weight, group): group "" = the steady mix; "emerging" / "incident" = the recent extras only.
TEMPLATES: list[tuple[str, int, str]] = [
    ("快递太慢了，等了一个星期还没到，非常失望，希望尽快发货", 60, ""),
    ("物流太慢，催了好几次都没有回复，太过分了", 40, ""),
    ("收到的包裹破损了，盒子都压扁了，很生气", 25, ""),
    ("发错货了，我买的是白色收到的是黑色，建议仓库仔细核对", 18, ""),
    ("配送员态度差，东西直接扔在门口，希望加强快递员培训", 15, ""),
    ("产品质量太差，用了三天就坏了，气死了，建议加强质检", 45, "focus"),
    ("机器有异响，担心会不会有安全问题", 20, "focus"),
    ("质量不错，做工精细，很满意，谢谢", 40, ""),
    ("用了一个月就出故障了，后悔买了，希望能免费维修", 25, "focus"),
    ("客服态度很好，耐心解答，谢谢！", 45, ""),
    ("客服态度恶劣，问了三遍都不耐烦，太失望了", 25, ""),
    ("打了好几次电话都没人接，等了半小时，太慢了", 30, ""),
    ("回复速度太慢，一个问题拖了三天，希望提高响应速度", 20, ""),
    ("价格比别家贵很多，感觉不值，希望多一些优惠活动", 25, ""),
    ("扣费金额不对，多收了我五十元，请尽快处理", 15, ""),
    ("退款申请了两周还没到账，很着急，请尽快退款", 25, ""),
    ("退货流程太麻烦，建议简化退货流程", 15, ""),
    ("安装师傅迟到了两个小时，安装也不专业，很不满意", 15, ""),
    ("维修师傅很专业，很快就修好了，非常感谢", 15, ""),
    ("账号登录不上，验证码一直收不到，急死了", 15, ""),
    ("支付失败了但是钱被扣了，很担心", 12, ""),
    ("App界面太复杂，找不到设置在哪里，希望能提供视频教程", 20, ""),
    ("说明书看不懂，建议增加图文说明", 12, ""),
    ("包装太多塑料，不环保，希望使用可回收包装", 10, ""),
    ("请问这款产品支持保修几年？", 25, ""),
    ("什么时候有货？想买两台", 15, ""),
    ("整体体验很好，会推荐给朋友", 40, ""),
    ("物流很快，第二天就到了，包装完好，很开心", 35, ""),
    ("能不能增加夜间配送时段", 10, ""),
    ("沟通很顺畅，问题解决了，谢谢你们", 20, ""),
    ("The delivery was late again, I am really disappointed. Please provide tracking updates", 20, ""),
    ("The package arrived damaged and the box was crushed, this is unacceptable", 10, ""),
    ("Great product, works perfectly, thank you!", 20, ""),
    ("The device stopped working after two weeks, very frustrating. I wish the warranty covered it", 15, "focus"),
    ("Customer service was rude and unhelpful, I am angry", 10, ""),
    ("Waited 40 minutes on the phone, far too slow", 10, ""),
    ("I was charged twice for one order, please fix the billing", 8, ""),
    ("Still waiting for my refund after three weeks, I am worried", 10, ""),
    ("The app is confusing. It would be nice if you added a dark mode", 10, ""),
    ("Does this model come with a charger?", 10, ""),
    ("Fast delivery and friendly staff, very happy", 15, ""),
    ("The installation technician was late and left a mess", 6, ""),
    # Recent extras only: the emerging theme (no topic covers it) and the delivery-delay incident.
    ("固件升级后连不上WiFi了，很失望，希望尽快修复", 30, "emerging"),
    ("固件升级以后频繁重启，气死了", 25, "emerging"),
    ("after the firmware update the speaker keeps rebooting, very annoyed", 10, "emerging"),
    ("快递延误了五天还没送到，太气人了，希望给个说法", 50, "incident"),
    ("物流一直不更新，包裹延迟好几天了，很着急", 35, "incident"),
]


@dataclass(frozen=True)
class Dialect:
    """The few SQL differences between PostgreSQL and SQLite that the generator needs."""

    vendor: str

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    def ts(self, epoch_expr: str) -> str:
        """A timestamp from Unix seconds (UTC), stored the way Django stores datetimes."""
        if self.pg:
            return f"to_timestamp({epoch_expr})"
        return f"datetime({epoch_expr}, 'unixepoch')"

    def json(self, expr: str) -> str:
        return f"CAST({expr} AS jsonb)" if self.pg else expr

    def least(self, *exprs: str) -> str:
        return f"{'LEAST' if self.pg else 'min'}({', '.join(exprs)})"

    def greatest(self, *exprs: str) -> str:
        return f"{'GREATEST' if self.pg else 'max'}({', '.join(exprs)})"


def h(expr: str, multiplier: int) -> str:
    """A pseudo-random residue in [0, HASH_M) of an integer expression: one independent-looking stream per
    multiplier, identical on both databases."""
    return f"((({expr}) * {multiplier}) % {HASH_M})"


def pick(values: list[str], index_expr: str) -> str:
    """``values[index_expr]`` as a CASE (no arrays on SQLite)."""
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"(CASE {index_expr} {whens} END)"


def analyse_templates(taxonomy: Any = None) -> list[dict[str, Any]]:
    """Each template's analysis by the real pipeline, as the analysis service stores it."""
    from voxloop_nlp import analyze_batch

    results = analyze_batch([t for t, _w, _g in TEMPLATES], taxonomy=taxonomy)
    rows = []
    for k, ((text, weight, group), res) in enumerate(zip(TEMPLATES, results, strict=True)):
        d = res.to_dict()
        codes = [t["code"] for t in d["topics"]]
        subs = [c for c in codes if "." in c]
        rows.append({
            "k": k, "text": text, "weight": weight, "grp": group, "language": d["language"][:10],
            "normalized": d["normalized_text"], "sentiment": d["sentiment"]["label"],
            "score": d["sentiment"]["score"], "kind": d["kind"], "urgency": d["urgency"]["level"],
            "emotions": json.dumps(d["emotions"], ensure_ascii=False),
            "topics": json.dumps(d["topics"], ensure_ascii=False),
            "needs": json.dumps(d["needs"], ensure_ascii=False),
            "keywords": json.dumps(d["keywords"], ensure_ascii=False),
            "reasons": json.dumps(d["urgency"]["reasons"], ensure_ascii=False),
            "masked": d["masked_text"], "model_version": d["model_version"][:40],
            # a resolved case's root cause: the most specific topic the text mentions
            "rc": (subs or codes or ["other"])[0],
            "codes": [(t["code"], t["code"].split(".")[0], float(t.get("confidence", 1.0))) for t in d["topics"]],
        })  # fmt: skip
    return rows


def empty_tables(cursor: Any, dialect: Dialect) -> None:
    tables = [
        "metrics_metricdaily", "metrics_dirtyday", "metrics_watermark", "surveys_answer", "surveys_response",
        "surveys_invitation", "cases_caseevent", "cases_casefeedback", "cases_case", "analysis_correction",
        "analysis_feedbacktopic", "analysis_feedbackanalysis", "feedback_feedback", "feedback_order",
        "feedback_customer", "feedback_product",
    ]  # fmt: skip
    if dialect.pg:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    # Other apps' rows that point at cases or feedback (alerts, automation logs...) go with them.
    cursor.execute("DELETE FROM accounts_user WHERE username LIKE 'bench-agent-%'")
    cursor.execute("DELETE FROM accounts_team WHERE name LIKE 'bench team %'")


def generate(cursor: Any, dialect: Dialect, n_feedback: int, policy_id: int, survey_id: int,
             question_ids: list[int], now: int, log: Callable[[str], None] = print) -> dict[str, int]:  # fmt: skip
    """Insert everything; ``now`` is the Unix time the two years end at. Returns row counts per table."""
    from voxloop_nlp import analyze_batch  # noqa: F401 - fail early when the pipeline is missing

    q = cursor.execute
    span = SPAN_DAYS * 86400
    n_extra = max(40, n_feedback * 15 // 1000)  # 1.5%: the emerging theme and the incident
    n_main = n_feedback - n_extra
    n_customers = max(1000, n_feedback // 10)
    step = _Stepper(log)
    if dialect.pg:
        # The rows are consistent by construction; skipping the deferred foreign-key checks at COMMIT
        # saves most of the setup time. Needs a superuser, as the default database user is.
        q("SET LOCAL session_replication_role = replica")

    templates = analyse_templates(_taxonomy())
    q("DROP TABLE IF EXISTS bench_tpl")
    q("DROP TABLE IF EXISTS bench_slot")
    q("DROP TABLE IF EXISTS bench_tpl_topic")
    q("DROP TABLE IF EXISTS bench_item")
    q("DROP TABLE IF EXISTS bench_seq")
    jtype = "jsonb" if dialect.pg else "text"
    q(f"""CREATE TEMP TABLE bench_tpl (k integer PRIMARY KEY, text text, grp text, language text, normalized text,
          sentiment text, score double precision, kind text, urgency text, emotions {jtype}, topics {jtype},
          needs {jtype}, keywords {jtype}, reasons {jtype}, masked text, model_version text, rc text)""")
    cursor.executemany(
        "INSERT INTO bench_tpl VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [(t["k"], t["text"], t["grp"], t["language"], t["normalized"], t["sentiment"], t["score"], t["kind"],
          t["urgency"], t["emotions"], t["topics"], t["needs"], t["keywords"], t["reasons"], t["masked"],
          t["model_version"], t["rc"]) for t in templates],
    )  # fmt: skip
    q("CREATE TEMP TABLE bench_tpl_topic (k integer, code text, top_code text, confidence double precision)")
    cursor.executemany(
        "INSERT INTO bench_tpl_topic VALUES (%s, %s, %s, %s)",
        [(t["k"], code, top, conf) for t in templates for code, top, conf in t["codes"]],
    )
    # 1000 slots per mix, each pointing at a template in proportion to its weight.
    q("CREATE TEMP TABLE bench_slot (mix integer, s integer, k integer, PRIMARY KEY (mix, s))")
    slots = []
    for mix, groups in ((0, ("", "focus")), (1, ("emerging", "incident"))):
        chosen = [t for t in templates if t["grp"] in groups]
        total = sum(t["weight"] for t in chosen)
        bounds, acc = [], 0
        for t in chosen:
            acc += t["weight"]
            bounds.append((acc * 1000 // total, t["k"]))
        slots += [(mix, s, next(k for b, k in bounds if s < b)) for s in range(1000)]
    cursor.executemany("INSERT INTO bench_slot VALUES (%s, %s, %s)", slots)

    q("CREATE TEMP TABLE bench_seq (i bigint PRIMARY KEY)")
    if dialect.pg:
        q(f"INSERT INTO bench_seq SELECT generate_series(1::bigint, {n_feedback + n_customers * 2})")
    else:
        q(f"""WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n_feedback + n_customers * 2})
              INSERT INTO bench_seq SELECT i FROM s""")
    step("templates and sequence")

    q(f"""INSERT INTO accounts_team (created_at, updated_at, name, name_en)
          SELECT {dialect.ts(str(now))}, {dialect.ts(str(now))}, 'bench team ' || i, 'bench team ' || i
          FROM bench_seq WHERE i <= {N_TEAMS}""")
    q(f"""INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,
          is_active, date_joined, role, language, languages_spoken, skills, is_away)
          SELECT '!', false, 'bench-agent-' || i, '', '', '', false, true, {dialect.ts(str(now))}, 'agent', '',
                 '[]', '[]', false
          FROM bench_seq WHERE i <= {N_AGENTS}""")
    q(f"""INSERT INTO feedback_product (created_at, updated_at, code, name, name_en, category)
          SELECT {dialect.ts(str(now))}, {dialect.ts(str(now))}, 'BP' || i, '商品' || i, 'product ' || i,
                 {pick(["家电", "数码", "家居", "厨房", "个护"], "i % 5")}
          FROM bench_seq WHERE i <= {N_PRODUCTS}""")
    q(f"""INSERT INTO feedback_customer (created_at, updated_at, external_id, name, email, phone, handles,
          language, tags, segment, lifetime_value, order_count, opted_out, attributes)
          SELECT {dialect.ts(str(now))}, {dialect.ts(str(now))}, 'BC' || i, '', '', '', '{{}}', 'zh', '[]',
                 {pick(SEGMENTS, f"{h('i', 7919)} % {len(SEGMENTS)}")}, ({h("i", 104729)} % 50000) / 10.0,
                 {h("i", 15485863)} % 30, false, '{{}}'
          FROM bench_seq WHERE i <= {n_customers}""")
    q("DROP TABLE IF EXISTS bench_ids")
    q("""CREATE TEMP TABLE bench_ids AS SELECT
         (SELECT min(id) FROM accounts_team WHERE name LIKE 'bench team %') t0,
         (SELECT min(id) FROM accounts_user WHERE username LIKE 'bench-agent-%') u0,
         (SELECT min(id) FROM feedback_product) p0, (SELECT min(id) FROM feedback_customer) c0""")
    step(f"{n_customers:,} customers, {N_PRODUCTS} products")

    # One row per item: its template, time (seconds before `now`), channel, product and customer.
    # Steady mix: uniform over the span; extras: the last 21 days (emerging) or 7 days (incident), with
    # density growing towards today (the square of a uniform number).
    u = f"{h('i', 48271)}"
    q(f"""CREATE TEMP TABLE bench_item AS
          SELECT i, k, ago, chan, prod, cust FROM (
            SELECT b.i, sl.k,
                   CASE WHEN b.i <= {n_main} THEN ({u} * {span}) / {HASH_M} + b.i % 61
                        WHEN t.grp = 'emerging' THEN (({u} / 1000) * ({u} / 1000) * {21 * 86400}) / 1000000
                        ELSE (({u} / 1000) * ({u} / 1000) * {7 * 86400}) / 1000000 END ago,
                   {pick(CHANNELS, f"{h('b.i', 16807)} % {len(CHANNELS)}")} chan,
                   CASE WHEN t.grp = 'focus' AND b.i % 3 > 0 THEN b.i % {FOCUS_PRODUCTS}
                        WHEN t.grp = 'incident' THEN {INCIDENT_PRODUCT}
                        ELSE {h("b.i", 69621)} % {N_PRODUCTS} END prod,
                   {h("b.i", 7919)} % {n_customers} cust
            FROM bench_seq b
            JOIN bench_slot sl ON sl.mix = CASE WHEN b.i <= {n_main} THEN 0 ELSE 1 END
                               AND sl.s = ({h("b.i", 2147)} * 1000) / {HASH_M}
            JOIN bench_tpl t ON t.k = sl.k
            WHERE b.i <= {n_feedback}) x""")
    step("item plan")
    received = dialect.ts(f"{now} - b.ago")
    q(f"""INSERT INTO feedback_feedback (created_at, updated_at, channel, source, external_id, customer_id,
          contact_name, contact_email, contact_phone, received_at, title, text, order_ref, raw_payload, attachments,
          thread_key, language, sentiment, sentiment_score, kind, urgency, analysis_status, model_version, product_id)
          SELECT {received}, {received}, b.chan, 'bench', CAST(b.i AS text), ids.c0 + b.cust, '', '', '', {received},
                 '', t.text, '', '{{}}', '[]', '', t.language, t.sentiment, t.score, t.kind, t.urgency, 'done',
                 t.model_version, ids.p0 + b.prod
          FROM bench_item b JOIN bench_tpl t ON t.k = b.k, bench_ids ids ORDER BY b.ago DESC""")
    step(f"{n_feedback:,} feedback items")
    # The item's id by its number, once (a join on the unique (source, external_id) index).
    q("DROP TABLE IF EXISTS bench_fid")
    q("""CREATE TEMP TABLE bench_fid AS SELECT b.i, b.k, b.ago, f.id fid, f.customer_id, f.received_at, f.product_id
         FROM bench_item b JOIN feedback_feedback f ON f.source = 'bench' AND f.external_id = CAST(b.i AS text)""")
    q("""INSERT INTO analysis_feedbackanalysis (feedback_id, language, normalized_text, sentiment, sentiment_score,
          emotions, topics, needs, keywords, kind, urgency, urgency_reasons, masked_text, model_version,
          analysed_at, refine_version, refined_from, refined_kind_from, refined_urgency_from)
          SELECT x.fid, t.language, t.normalized, t.sentiment, t.score, t.emotions, t.topics, t.needs, t.keywords,
                 t.kind, t.urgency, t.reasons, t.masked, t.model_version, x.received_at, '', '', '', ''
          FROM bench_fid x JOIN bench_tpl t ON t.k = x.k ORDER BY x.fid""")
    # No aspect polarity (sentiment ""): each topic counts by its item's label, as rows stored before aspects do.
    q("""INSERT INTO analysis_feedbacktopic (feedback_id, code, top_code, confidence, origin, sentiment)
         SELECT x.fid, tt.code, tt.top_code, tt.confidence, 'model', ''
         FROM bench_fid x JOIN bench_tpl_topic tt ON tt.k = x.k ORDER BY x.fid""")
    step("analyses and topics")

    # Cases: a quarter of the complaints; resolved (with a root cause) unless opened in the last 3 days or
    # one in seven of the rest.
    created = "x.received_at"
    still_open = "(x.ago < 259200 OR x.i % 7 = 0)"
    responded = dialect.ts(f"{now} - x.ago + 60 + {h('x.i', 3571)} % 86400")
    resolved = dialect.ts(f"{now} - x.ago + 3600 + {h('x.i', 6073)} % 259200")
    q(f"""INSERT INTO cases_case (created_at, updated_at, number, title, status, severity, first_response_warned,
          first_response_breached, resolution_warned, resolution_breached, escalation_level, paused_business_seconds,
          reopen_count, root_cause, resolution, tracking_token, language, customer_id, team_id, assignee_id,
          sla_policy_id, first_responded_at, resolved_at, repeat_of_id)
          SELECT {created}, {created}, 'BK' || x.i, substr(t.text, 1, 60),
                 CASE WHEN {still_open} THEN 'open' ELSE 'resolved' END, 'normal', false,
                 x.i % 11 = 0, false, x.i % 13 = 0, 0, (x.i % 5) * 600, CASE WHEN x.i % 17 = 0 THEN 1 ELSE 0 END,
                 CASE WHEN {still_open} THEN '' ELSE t.rc END, CASE WHEN {still_open} THEN '' ELSE 'done' END,
                 'bench-' || x.i, t.language, x.customer_id, ids.t0 + x.i % {N_TEAMS}, ids.u0 + x.i % {N_AGENTS},
                 {policy_id}, CASE WHEN x.ago < 86400 THEN NULL ELSE {responded} END,
                 CASE WHEN {still_open} THEN NULL ELSE {resolved} END, NULL
          FROM bench_fid x JOIN bench_tpl t ON t.k = x.k, bench_ids ids
          WHERE t.kind = 'complaint' AND x.i % 4 = 0 ORDER BY x.ago DESC""")
    q("DROP TABLE IF EXISTS bench_case")
    q("""CREATE TEMP TABLE bench_case AS SELECT c.id cid, x.i, x.k, x.fid, x.ago, c.created_at, c.first_responded_at,
         c.customer_id, x.product_id, c.assignee_id, c.team_id
         FROM cases_case c JOIN bench_fid x ON c.number = 'BK' || x.i""")
    q("UPDATE cases_case SET repeat_of_id = id - 1 WHERE id % 9 = 0 AND id > (SELECT min(id) FROM cases_case)")
    q("""INSERT INTO cases_casefeedback (linked_at, case_id, feedback_id)
         SELECT created_at, cid, fid FROM bench_case""")
    reply = dialect.json('\'{"text": "ok"}\'')
    q(f"""INSERT INTO cases_caseevent (kind, payload, created_at, processed, case_id)
          SELECT 'public_reply', {reply}, first_responded_at, true, cid
          FROM bench_case WHERE first_responded_at IS NOT NULL""")
    step("cases")

    # Responses: two thirds of the cases (scores follow the case's template: some root causes hurt more),
    # and relationship surveys (a tenth of the feedback volume) spread over the span.
    raw_nps = "(x.k * 3) % 7 + " + h("x.i", 9973) + " % 6 - 1"
    nps_case = dialect.least("10", dialect.greatest("0", raw_nps))
    q(f"""INSERT INTO surveys_response (submitted_at, updated_at, language, channel, comment, editable_until,
          survey_id, customer_id, case_id, agent_id, team_id, product_id, nps, csat, ces)
          SELECT {dialect.ts(f"{now} - x.ago + 7200")}, {dialect.ts(f"{now} - x.ago + 7200")}, 'zh', 'followup', '',
                 {dialect.ts(f"{now} - x.ago + 9000")}, {survey_id}, x.customer_id, x.cid, x.assignee_id,
                 x.team_id, x.product_id, {nps_case}, 1 + ({nps_case}) * 4 / 10, 7 - ({nps_case}) * 6 / 10
          FROM bench_case x WHERE x.i % 3 > 0 AND x.ago > 7200""")
    n_rel = n_feedback // 10
    ago = f"({h('b.i', 31337)} * {span}) / {HASH_M}"
    nps_rel = f"({h('b.i', 4441)} % 11)"
    q(f"""INSERT INTO surveys_response (submitted_at, updated_at, language, channel, comment, editable_until,
          survey_id, customer_id, case_id, agent_id, team_id, product_id, nps, csat, ces)
          SELECT {dialect.ts(f"{now} - {ago}")}, {dialect.ts(f"{now} - {ago}")}, 'zh', 'link', '',
                 {dialect.ts(f"{now} - {ago} + 1800")}, {survey_id}, ids.c0 + {h("b.i", 104729)} % {n_customers},
                 NULL, NULL, NULL, ids.p0 + b.i % {N_PRODUCTS}, {nps_rel}, 1 + {nps_rel} * 4 / 10,
                 7 - {nps_rel} * 6 / 10
          FROM bench_seq b, bench_ids ids WHERE b.i <= {n_rel}""")
    q(f"""INSERT INTO surveys_answer (response_id, question_id, dimension, number, text, choices)
          SELECT r.id, qq.id, qq.dimension, {dialect.least("5", dialect.greatest("1", "r.csat + (r.id + qq.id) % 3 - 1"))},
                 '', '[]'
          FROM surveys_response r, surveys_question qq
          WHERE qq.id IN ({",".join(map(str, question_ids))}) AND r.survey_id = {survey_id}""")
    step("survey responses")
    # created_at = ordered_at: the catch-up task looks for orders created since its last look.
    ordered = dialect.ts(f"{now} - ({h('b.i', 27449)} * {span}) / {HASH_M}")
    q(f"""INSERT INTO feedback_order (created_at, updated_at, external_id, ordered_at, amount, quantity, status,
          raw_payload, customer_id, product_id)
          SELECT {ordered}, {ordered}, 'BO' || b.i, {ordered}, 99, 1, 'paid', '{{}}',
                 ids.c0 + {h("b.i", 15485863)} % {n_customers}, ids.p0 + b.i % {N_PRODUCTS}
          FROM bench_seq b, bench_ids ids WHERE b.i <= {n_customers * 2}""")
    step("orders")
    for table in ("bench_tpl", "bench_slot", "bench_tpl_topic", "bench_item", "bench_fid", "bench_case", "bench_ids",
                  "bench_seq"):  # fmt: skip
        q(f"DROP TABLE IF EXISTS {table}")
    counts = {}
    for key, table in (("feedback", "feedback_feedback"), ("analyses", "analysis_feedbackanalysis"),
                       ("topics", "analysis_feedbacktopic"), ("cases", "cases_case"),
                       ("responses", "surveys_response"), ("customers", "feedback_customer")):  # fmt: skip
        q(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
        counts[key] = cursor.fetchone()[0]
    return counts


def analyse_tables(cursor: Any, dialect: Dialect) -> None:
    """Fresh planner statistics, as autovacuum / a DBA would have them on a database this size."""
    if dialect.pg:
        for table in ("feedback_feedback", "analysis_feedbackanalysis", "analysis_feedbacktopic", "cases_case",
                      "cases_caseevent", "cases_casefeedback", "surveys_response", "surveys_answer",
                      "feedback_order", "feedback_customer", "metrics_metricdaily"):  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
    else:
        cursor.execute("ANALYZE")


def _taxonomy() -> Any:
    from voxloop.analysis.services import current_taxonomy

    return current_taxonomy()


class _Stepper:
    def __init__(self, log: Callable[[str], None]) -> None:
        self.log, self.t0 = log, time.perf_counter()

    def __call__(self, what: str) -> None:
        now = time.perf_counter()
        self.log(f"  generated {what} in {now - self.t0:.1f}s")
        self.t0 = now
