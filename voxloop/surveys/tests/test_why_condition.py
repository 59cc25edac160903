"""A survey's "why?" condition is chosen in the builder: an earlier score question by its text, and a score."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("lang", "words"), [("en", ["Show only after the answer to", "always show"]),
                                             ("zh-hans", ["仅在以下问题作答后显示", "始终显示"])])  # fmt: skip
def test_the_builder_offers_the_score_questions_and_scores(client, manager, nps_survey, lang, words):
    client.force_login(manager)
    page = client.get(reverse("surveys:detail", args=[nps_survey.pk]), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    for word in words:
        assert word in page
    headline = nps_survey.questions.get(order=1)
    assert f'<option value="1">1. {headline.text(lang)}' in page  # the score question by its text
    assert '<option value="10">10</option>' in page
    why = nps_survey.questions.get(order=2)  # not a score question: not offered as a condition
    assert f'<option value="2">2. {why.text(lang)}' not in page


def test_editing_offers_only_earlier_score_questions(client, manager, nps_survey):
    client.force_login(manager)
    headline = nps_survey.questions.get(order=1)
    page = client.get(reverse("surveys:question_edit", args=[headline.pk])).content.decode()
    assert 'name="show_if_question"' in page and f'<option value="1">1. {headline.text("en")}' not in page


def test_a_chosen_condition_is_stored_and_a_score_off_the_list_is_refused(client, manager, nps_survey):
    client.force_login(manager)
    add = reverse("surveys:question_add", args=[nps_survey.pk])
    data = {"kind": "text", "text_zh": "哪里好？", "text_en": "What went well?", "show_if_question": "1",
            "show_if_gte": "9"}  # fmt: skip
    assert client.post(add, data).status_code == 302
    assert nps_survey.questions.order_by("-order").first().show_if == {"question": 1, "gte": 9}
    page = client.post(add, {**data, "show_if_gte": "12"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400
    assert "must name an earlier score question and a score within its range" in page.content.decode()
