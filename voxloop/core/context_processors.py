from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def navigation(request: HttpRequest) -> dict:
    """The main menu, shown to signed-in staff."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        (_("Inbox"), reverse("feedback:inbox"), "feedback"),
        (_("Customers"), reverse("feedback:customers"), "customers"),
        (_("Add feedback"), reverse("feedback:staff_entry"), "staff_entry"),
        (_("Imports"), reverse("fileimport:list"), "imports"),
    ]
    if user.is_staff or getattr(user, "role", "") in {"admin", "manager"}:
        items.append((_("Mailboxes"), reverse("email:mailboxes"), "mailboxes"))
    if user.is_superuser or getattr(user, "role", "") == "admin":
        items.append((_("API tokens"), reverse("api_tokens:list"), "api_tokens"))
        items.append((_("Rules"), reverse("automation:list"), "rules"))
        items.append((_("Audit log"), reverse("audit_log"), "audit_log"))
    return {"nav_items": items}
