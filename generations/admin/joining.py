"""Joining: invitations (a staff member invites by e-mail, revokes) and the
group claims of single sign-on mapped to teams and staff (audited like every
setting, with a reason)."""

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django import forms
from django.contrib import admin, messages

from generations.accounts import invitations
from generations.admin.core import ReadOnlyAdmin
from generations.admin.forms import REASON_HELP
from generations.admin.settings import AuditedAdmin
from generations.models import GroupMapping, Invitation

ADD_FIELDS = ("email", "team", "team_admin")


class InvitationAddForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ("email", "team", "team_admin")

    def clean(self):
        data = super().clean()
        if data.get("email"):
            try:
                invitations.check_invitable(email=data["email"], team=data.get("team"))
            except invitations.InvitationError as error:
                raise forms.ValidationError(str(error)) from error
        return data


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Adding one sends it (invitations.invite); nothing else is edited: a
    wrong one is revoked and sent again."""

    list_display = ("email", "team", "team_admin", "state", "invited_by", "created_at", "expires_at")
    list_filter = ("team",)
    search_fields = ("email",)
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = InvitationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ADD_FIELDS
        return (
            "email",
            "team",
            "team_admin",
            "state",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
        )

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the audit log refers to it

    def save_model(self, request, obj, form, change):
        if change:
            return
        sent = invitations.invite(
            inviter=request.user, email=obj.email, team=obj.team, team_admin=obj.team_admin
        )
        obj.pk, obj.expires_at, obj.created_at = sent.pk, sent.expires_at, sent.created_at

    @admin.action(description="Revoke the selected invitations", permissions=["change"])
    def revoke(self, request, queryset):
        done = 0
        for invitation in queryset:
            try:
                invitations.revoke(invitation=invitation, actor=request.user)
                done += 1
            except invitations.InvitationError as error:
                self.message_user(request, f"{invitation}: {error}", messages.ERROR)
        if done:
            self.message_user(request, f"Revoked: {done}.", messages.SUCCESS)


class GroupMappingForm(forms.ModelForm):
    reason = forms.CharField(max_length=300, help_text=REASON_HELP)

    class Meta:
        model = GroupMapping
        fields = ("group", "team", "team_admin", "staff")

    def clean(self):
        data = super().clean()
        if not data.get("team") and not data.get("staff"):
            raise forms.ValidationError("A mapping gives a team, staff status, or both.")
        return data


@admin.register(GroupMapping)
class GroupMappingAdmin(AuditedAdmin):
    """Added to OIDC_GROUP_MAP from the environment (this wins for a group in both)."""

    form = GroupMappingForm
    list_display = ("group", "team", "team_admin", "staff")
    search_fields = ("group",)


# django-allauth's own admin pages, trimmed to what this site uses. Providers
# come from the environment (their secrets never in the database), tokens are
# not stored and addresses are not managed here: only the links between
# people and their identity-provider accounts remain, to look at.
for _model in (SocialApp, SocialToken, SocialAccount, EmailAddress):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(SocialAccount)
class SocialAccountAdmin(ReadOnlyAdmin):
    list_display = ("user", "provider", "uid", "last_login", "date_joined")
    list_filter = ("provider",)
    search_fields = ("user__username", "user__email", "uid")
    exclude = ("extra_data",)  # the provider's claims: personal data, not for every viewer
