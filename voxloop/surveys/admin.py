from django.contrib import admin

from voxloop.surveys.models import Answer, Invitation, Question, Response, Survey


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "is_active", "is_anonymous", "is_followup_default")
    list_filter = ("kind", "is_active")
    inlines = [QuestionInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("survey", "channel", "status", "customer", "sent_at", "opened_at", "answered_at")
    list_filter = ("channel", "status")
    raw_id_fields = ("customer", "case")
    readonly_fields = ("token",)


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    readonly_fields = ("question", "dimension", "number", "text", "choices")

    def has_add_permission(self, request, obj=None) -> bool:  # answers come only from customers
        return False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("survey", "submitted_at", "nps", "csat", "ces", "channel", "agent")
    list_filter = ("survey", "channel")
    raw_id_fields = ("invitation", "customer", "case", "feedback", "agent", "team", "product")
    inlines = [AnswerInline]

    def has_change_permission(self, request, obj=None) -> bool:  # what a customer answered is never edited
        return False
