"""The public survey page: what is (and is not) recorded, one answer per invitation, bots, bad links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from voxloop.surveys import answers, common, invitations
from voxloop.surveys.models import Answer, Invitation, InvitationStatus, Response

pytestmark = pytest.mark.django_db


def url(invitation: Invitation) -> str:
    return reverse("surveys_public:answer", args=[invitation.token])


def test_opening_a_link_records_nothing_but_the_open_even_with_a_score_in_it(client, invitation):
    # Mail scanners fetch every link in an email, "rating" links included.
    page = client.get(url(invitation) + "?score=9")
    assert page.status_code == 200
    assert 'value="9" checked' in page.content.decode()  # pre-selected for a real customer...
    assert Response.objects.count() == 0  # ...but not recorded
    invitation.refresh_from_db()
    assert invitation.opened_at is not None
    assert invitation.answered_at is None and invitation.status == InvitationStatus.SENT
    client.head(url(invitation) + "?score=2")
    assert Response.objects.count() == 0


def test_a_score_out_of_range_in_the_link_is_not_preselected(client, invitation):
    page = client.get(url(invitation) + "?score=99").content.decode()
    assert "checked" not in page


def test_submitting_records_one_response_with_the_headline_score(client, invitation, customer):
    page = client.post(url(invitation), {"q1": "9", "q3": ["c1", "c2"]})
    assert page.status_code == 200
    assert "Thank you" in page.content.decode()
    response = Response.objects.get()
    assert (response.nps, response.csat, response.customer, response.channel) == (9, None, customer, "link")
    assert sorted(Answer.objects.get(response=response, question__order=3).choices) == ["c1", "c2"]
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED and invitation.answered_at is not None


def test_a_second_submit_changes_the_one_response_inside_the_edit_window(client, invitation):
    client.post(url(invitation), {"q1": "9"})
    client.post(url(invitation), {"q1": "4", "q2": "太慢了"})
    response = Response.objects.get()  # still one
    assert (response.nps, response.comment) == (4, "太慢了")
    assert Answer.objects.filter(response=response).count() == 2


def test_after_the_edit_window_the_answer_stays_as_it_was(client, invitation):
    client.post(url(invitation), {"q1": "9"})
    Response.objects.update(editable_until=timezone.now() - timedelta(seconds=1))
    page = client.post(url(invitation), {"q1": "0", "q2": "changed my mind"})
    assert "already been answered" in page.content.decode()
    assert Response.objects.get().nps == 9
    # The page no longer offers to change the answers either.
    assert "Change my answers" not in client.get(url(invitation)).content.decode()


def test_the_edit_link_shows_the_saved_answers(client, invitation):
    client.post(url(invitation), {"q1": "3", "q2": "等太久"})
    page = client.get(url(invitation) + "?edit=1").content.decode()
    assert 'value="3" checked' in page and "等太久" in page and "Save my changes" in page


def test_a_resubmitted_form_for_one_invitation_never_makes_a_second_response(invitation, nps_survey):
    answers.submit_response(invitation=invitation, data={"q1": "8"})
    stale = Invitation.objects.get(pk=invitation.pk)
    answers.submit_response(invitation=stale, data={"q1": "2", "q2": "慢"})
    assert list(Response.objects.values_list("nps", flat=True)) == [2]  # the same response, changed
    # Anonymous responses are not linked to their invitation: the claim on the invitation is the guard.
    nps_survey.is_anonymous = True
    nps_survey.save()
    anonymous = invitations.create_link_invitation(nps_survey)
    answers.submit_response(invitation=anonymous, data={"q1": "9"})
    with pytest.raises(common.SurveyError) as caught:
        answers.submit_response(invitation=anonymous, data={"q1": "1", "q2": "x"})
    assert caught.value.code == common.SurveyErrorCode.ALREADY_ANSWERED
    assert Response.objects.count() == 2


def test_why_is_asked_only_after_a_low_score(client, invitation, nps_survey):
    page = client.get(url(invitation)).content.decode()
    assert 'data-show-if="q1" data-lte="6"' in page
    questions = list(nps_survey.questions.order_by("order"))
    assert [q.order for q in answers.visible_questions(questions, {1: 9})] == [1, 3]
    assert [q.order for q in answers.visible_questions(questions, {1: 6})] == [1, 2, 3]
    # A promoter's answer to the hidden "why?" is ignored; the question is not required for them.
    client.post(url(invitation), {"q1": "10", "q2": "should not be kept"})
    assert Response.objects.get().comment == ""


def test_a_low_score_without_the_required_why_is_refused_with_a_clear_message(client, invitation):
    page = client.post(url(invitation), {"q1": "3"})
    assert page.status_code == 200
    assert "Please answer this question." in page.content.decode()
    assert Response.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"q1": "11"}, "Choose a score from 0 to 10."),
        ({"q1": "-1"}, "Choose a score from 0 to 10."),
        ({"q1": "nine"}, "Choose a score from 0 to 10."),
        ({}, "Please choose a score."),
        ({"q1": "9", "q3": ["c9"]}, "Choose from the options given."),
    ],
)
def test_bad_answers_are_named_per_question(client, invitation, data, message):
    page = client.post(url(invitation), data)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert Response.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.answered_at is None


def test_a_filled_honeypot_records_nothing(client, invitation):
    page = client.post(url(invitation), {"q1": "0", "website": "http://spam.example"})
    assert page.status_code == 200  # the bot sees a thank-you page and learns nothing
    assert Response.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.answered_at is None


def test_too_many_submissions_from_one_address_are_refused(client, invitation, settings):
    settings.SURVEY_RATE = "2/m"
    assert "Choose a score" in client.post(url(invitation), {"q1": "11"}).content.decode()
    assert "Choose a score" in client.post(url(invitation), {"q1": "11"}).content.decode()
    page = client.post(url(invitation), {"q1": "9"})
    assert page.status_code == 429
    assert "Too many answers" in page.content.decode()
    assert Response.objects.count() == 0


def test_unknown_expired_and_switched_off_links_all_look_the_same(client, invitation, nps_survey):
    unknown = client.get(reverse("surveys_public:answer", args=["no-such-token"]))
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(url(invitation))
    posted = client.post(url(invitation), {"q1": "9"})
    assert unknown.status_code == expired.status_code == posted.status_code == 404
    assert unknown.content == expired.content  # nothing tells which case it is
    assert Response.objects.count() == 0
    fresh = invitations.create_link_invitation(nps_survey)
    nps_survey.is_active = False
    nps_survey.save()
    assert client.get(url(fresh)).content == unknown.content


def test_anonymous_surveys_keep_no_customer(client, nps_survey, customer, resolved_case):
    nps_survey.is_anonymous = True
    nps_survey.save()
    invitation = invitations.create_link_invitation(nps_survey, customer=customer, language="en")
    Invitation.objects.filter(pk=invitation.pk).update(case=resolved_case)
    client.post(url(invitation), {"q1": "2", "q2": "客服态度差"})
    response = Response.objects.get()
    assert response.customer is None and response.case is None and response.invitation is None
    assert response.agent is None
    # The browser that answered may still change its answer; it stays one response.
    client.post(url(invitation), {"q1": "5", "q2": "客服态度差"})
    assert Response.objects.get().nps == 5
    # Another browser cannot: it only sees that the survey was answered.
    from django.test import Client

    other = Client().post(url(invitation), {"q1": "10"})
    assert "already been answered" in other.content.decode()
    assert Response.objects.get().nps == 5


def test_the_page_is_in_the_customers_language(client, invitation):
    invitation.language = "zh-hans"
    invitation.save()
    page = client.get(url(invitation)).content.decode()
    assert "您有多大可能把我们推荐给朋友或同事？" in page and 'lang="zh-Hans"' in page
    english = client.get(url(invitation) + "?lang=en").content.decode()
    assert "How likely are you to recommend us" in english


def test_the_open_link_and_embed_make_one_invitation_per_submitted_page(client, nps_survey):
    embed = reverse("surveys_public:embed", args=[nps_survey.public_token])
    page = client.get(embed)
    assert page.status_code == 200 and "X-Frame-Options" not in page.headers
    assert Invitation.objects.count() == 0  # opening creates nothing
    html = page.content.decode()
    submission = html.split('name="submission_id" value="')[1].split('"')[0]
    client.post(embed, {"q1": "9", "submission_id": submission})
    client.post(embed, {"q1": "9", "submission_id": submission})  # the browser resent the form
    assert Response.objects.count() == 1
    assert Response.objects.get().channel == "embed"
    open_link = reverse("surveys_public:open", args=[nps_survey.public_token])
    assert client.post(open_link, {"q1": "7"}).status_code == 200
    assert Response.objects.count() == 2
    assert client.get(reverse("surveys_public:open", args=["nope"])).status_code == 404


def test_the_survey_page_is_light(client, invitation, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        page = client.get(url(invitation))
    html = page.content.decode()
    assert "htmx" not in html and "echarts" not in html  # one small script, no framework
    assert html.count("<script") == 1
    assert page.headers["Cache-Control"] == "no-store"
