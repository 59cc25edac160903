"""One date/time format per language: a page never mixes "Dec. 7, 2026, 12:11 p.m." with "12/07/2026 12:10"."""

from datetime import datetime

import pytest
from django import forms
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import localize_input


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_dates_and_times_print_and_parse_one_way(language):
    moment = datetime(2026, 12, 7, 12, 11)
    with translation.override(language):
        shown = Template('{{ t }}|{{ t|date }}|{{ t|date:"SHORT_DATETIME_FORMAT" }}|{{ t.date }}').render(
            Context({"t": moment})
        )
        assert shown == "2026-12-07 12:11|2026-12-07|2026-12-07 12:11|2026-12-07"
        assert localize_input(moment) == "2026-12-07 12:11"  # what a date-time input shows
        field = forms.DateTimeField()
        assert field.clean("2026-12-07 12:11").replace(tzinfo=None) == moment
        with pytest.raises(forms.ValidationError):
            field.clean("07.12.2026 noon")
