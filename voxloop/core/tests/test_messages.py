"""Messages stored by a worker and shown later in each reader's language."""

import pickle

from django.utils import translation

from voxloop.core.messages import render, stored
from voxloop.feedback.normalize import RowError, clean_phone


def test_a_stored_message_is_shown_in_each_readers_language():
    message = stored("'%(value)s' is not a phone number.", {"value": "12ab"})
    with translation.override("zh-hans"):
        assert render(message) == "“12ab”不是电话号码。"
    with translation.override("en"):
        assert render(message) == "'12ab' is not a phone number."


def test_without_a_template_the_stored_english_is_shown():
    with translation.override("zh-hans"):
        assert render({}, "Row 2: the date is missing.") == "Row 2: the date is missing."


def test_values_that_look_like_placeholders_are_shown_as_typed():
    message = stored("'%(value)s' is not a phone number.", {"value": "%(evil)s 100%"})
    with translation.override("zh-hans"):
        assert render(message) == "“%(evil)s 100%”不是电话号码。"


def test_a_template_whose_values_are_missing_falls_back_instead_of_breaking_the_page():
    message = {"template": "The date %(date)s is in the future.", "params": {"day": "2030-01-01"}}
    assert render(message, "The date 2030-01-01 is in the future.") == "The date 2030-01-01 is in the future."


def test_a_row_error_keeps_its_english_and_its_translation_through_pickling():
    try:
        clean_phone("12ab")
    except RowError as exc:
        error = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
    assert (error.code, error.field, error.message) == ("invalid_phone", "phone", "'12ab' is not a phone number.")
    with translation.override("zh-hans"):
        assert error.localized() == "“12ab”不是电话号码。"
