from django.contrib import admin
from django.http import HttpRequest

from voxloop.surveys.models import Answer, Invitation, Question, Response, Survey


class QuestionInline(admin.TabularInline):  # type: ignore[type-arg]  # not subscriptable at run time
    model = Question
    extra = 0


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("name", "kind", "is_active", "is_anonymous", "is_followup_default")
    list_filter = ("kind", "is_active")
    inlines = [QuestionInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("survey", "channel", "status", "customer", "sent_at", "opened_at", "answered_at")
    list_filter = ("channel", "status")
    raw_id_fields = ("customer", "case")
    readonly_fields = ("token",)


class AnswerInline(admin.TabularInline):  # type: ignore[type-arg]  # not subscriptable at run time
    model = Answer
    extra = 0
    readonly_fields = ("question", "dimension", "number", "text", "choices")

    def has_add_permission(self, request: HttpRequest, obj: Response | None = None) -> bool:  # only from customers
        return False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("survey", "submitted_at", "nps", "csat", "ces", "channel", "agent")
    list_filter = ("survey", "channel")
    raw_id_fields = ("invitation", "customer", "case", "feedback", "agent", "team", "product")
    inlines = [AnswerInline]

    def has_change_permission(self, request: HttpRequest, obj: Response | None = None) -> bool:  # never edited
        return False
