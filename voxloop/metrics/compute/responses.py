"""The responses roll-up: NPS, CSAT and CES sums, CSAT sub-dimensions and repurchase, per day submitted."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.bands import nps_band
from voxloop.feedback.models import Order
from voxloop.metrics.cells import RangeAccumulator, cut_value
from voxloop.metrics.compute.cases import case_origins
from voxloop.metrics.days import range_bounds
from voxloop.metrics.models import Source
from voxloop.stats import formulas
from voxloop.surveys.models import Answer, Response

REPURCHASE_WINDOW = timedelta(days=183)  # "within 6 months" after the survey response


def compute_responses(first: date, last: date) -> RangeAccumulator:
    """Survey responses submitted on ``day``: NPS groups, CSAT and CES sums, CSAT sub-dimensions, and
    whether the customer ordered again within six months (the repurchase bands). Every cell also carries, per
    topic of the response, t:<top code>:promoters / passives / detractors / csat_n / csat_sum / csat_sq."""
    start, end = range_bounds(first, last)
    accs = RangeAccumulator(Source.RESPONSES, first, last)
    responses = list(
        Response.objects.filter(submitted_at__gte=start, submitted_at__lt=end).values(
            "id", "submitted_at", "nps", "csat", "ces", "agent_id", "team_id", "product_id", "customer_id",
            "customer__segment", "case_id", "language", "feedback_id", "feedback__language",
        )
    )  # fmt: skip
    if not responses:
        return accs
    origins, topics = case_origins({r["case_id"] for r in responses if r["case_id"]})
    # A response is about the topics of its case and the topics the customer wrote about in its comment: the
    # drivers page compares the scores of responses that mention a topic with those that do not.
    comment_topics: dict[int, set[str]] = defaultdict(set)
    for feedback_id, top_code in FeedbackTopic.objects.filter(
        feedback_id__in=[r["feedback_id"] for r in responses if r["feedback_id"]]
    ).values_list("feedback_id", "top_code"):
        comment_topics[feedback_id].add(top_code)
    dimensions: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for response_id, dimension, number in (
        Answer.objects.filter(response_id__in=[r["id"] for r in responses], number__isnull=False, question__kind="csat")
        .exclude(dimension="")
        .values_list("response_id", "dimension", "number")
    ):
        if number is not None:  # always, by the filter; the column is nullable
            dimensions[response_id].append((dimension, number))
    customers = {r["customer_id"] for r in responses if r["customer_id"]}
    orders: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, ordered_at in Order.objects.filter(
        customer_id__in=customers, ordered_at__gt=start, ordered_at__lte=end + REPURCHASE_WINDOW
    ).values_list("customer_id", "ordered_at"):
        orders[customer_id].append(ordered_at)
    for response in responses:
        channel, _product, case_language = origins.get(response["case_id"], ("", "", ""))
        # The language the customer wrote in: the analysed comment's, else the case's first item's, else
        # the survey's (in the analysed-language codes, so one language filter fits every source).
        language = response["feedback__language"] or case_language or analysed_language_of(response["language"])
        response_topics = sorted(
            topics.get(response["case_id"], set()) | comment_topics.get(response["feedback_id"], set())
        )
        cells = accs.for_instant(response["submitted_at"]).cells_for({
            "channel": [channel], "product": [cut_value(response["product_id"])], "team": [cut_value(response["team_id"])],
            "agent": [cut_value(response["agent_id"])], "topic": response_topics,
            "segment": [response["customer__segment"] or ""], "language": [language],
        })  # fmt: skip
        nps_score, csat_score, ces_score = response["nps"], response["csat"], response["ces"]
        bands: list[str] = []
        if csat_score is not None:
            bands.append("csat_high" if csat_score >= 4 else "csat_low")
        if nps_score is not None:
            bands.append(nps_band(nps_score))
        repurchased = False
        if response["customer_id"] and bands:
            submitted = response["submitted_at"]
            repurchased = any(submitted < t <= submitted + REPURCHASE_WINDOW for t in orders[response["customer_id"]])
        # Per-topic score sums in every cell, so the drivers page is exact within any one cut (a product's
        # responses about delivery), not only over all responses.
        topic_sums: list[tuple[str, float]] = []
        for code in response_topics:
            if nps_score is not None:
                topic_sums.append((f"t:{code}:{nps_band(nps_score)}s", 1))
            if csat_score is not None:
                topic_sums += [(f"t:{code}:csat_n", 1), (f"t:{code}:csat_sum", csat_score),
                               (f"t:{code}:csat_sq", csat_score * csat_score)]  # fmt: skip
        for cell in cells:
            cell.n += 1
            for key, amount in topic_sums:
                cell.add(key, amount)
            if nps_score is not None:
                cell.add(nps_band(nps_score) + "s")
            if csat_score is not None:
                cell.add("csat_n")
                cell.add("csat_sum", csat_score)
                cell.add("csat_sq", csat_score * csat_score)
                cell.add("csat_top2", formulas.csat_is_top2(csat_score))
            if ces_score is not None:
                cell.add("ces_n")
                cell.add("ces_sum", ces_score)
                cell.add("ces_sq", ces_score * ces_score)
                cell.add("ces_easy", formulas.ces_is_easy(ces_score))
            for dimension, number in dimensions.get(response["id"], ()):
                cell.add(f"dim:{dimension}:n")
                cell.add(f"dim:{dimension}:sum", number)
                cell.add(f"dim:{dimension}:sq", number * number)
                cell.add(f"dim:{dimension}:top2", formulas.csat_is_top2(number))
            if response["customer_id"]:
                for band in bands:
                    cell.add(f"rep:{band}:n")
                    cell.add(f"rep:{band}:yes", repurchased)
    return accs


# Survey languages (Django codes) in the analysed-language codes of Feedback.language.
_SURVEY_LANGUAGES = {"zh-hans": "zh", "zh-cn": "zh", "zh": "zh", "zh-hant": "zh-Hant", "zh-tw": "zh-Hant",
                     "zh-hk": "zh-Hant", "en": "en"}  # fmt: skip


def analysed_language_of(code: str) -> str:
    """A survey's language code as an analysed-language code ("zh-hans" -> "zh", "en-us" -> "en")."""
    code = (code or "").strip().lower()
    if not code:
        return ""
    return _SURVEY_LANGUAGES.get(code) or _SURVEY_LANGUAGES.get(code.split("-")[0], "other")
