from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.channels.email.models import Mailbox


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored in the database. Leave empty and name an environment variable below to keep it out."),
    )

    class Meta:
        model = Mailbox
        fields = ["name", "host", "port", "use_ssl", "username", "password", "password_env", "folder", "enabled"]

    def clean(self):
        data = super().clean()
        if not data.get("password") and not data.get("password_env"):
            raise forms.ValidationError(_("Give the password or the name of an environment variable that holds it."))
        return data


class MailUploadForm(forms.Form):
    file = forms.FileField(label=_("Email file (.eml or .mbox)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith((".eml", ".mbox")):
            raise forms.ValidationError(_("Upload an .eml or .mbox file."))
        return upload
