"""Form fields that list teams and departments by the name people read in the page's language (their `label`),
not the stored Chinese name.
"""

from __future__ import annotations

from typing import Any

from django import forms


class LabelChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.label)


class LabelMultipleChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.label)
