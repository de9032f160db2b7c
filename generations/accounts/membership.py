"""Putting a person on a team, and the group claims of single sign-on mapped
to teams and staff status: every change audited."""

import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from generations.billing import ledger, quotas
from generations.billing.audit import audit_record
from generations.models import CreditAccount, GroupMapping, Invitation, Team, TeamMembership

log = logging.getLogger(__name__)

# What Team.member_defaults may set on a new member's own account.
DEFAULT_FIELDS = (*CreditAccount.NO_LIMIT, "monthly_allowance")


class GroupMapError(ValueError):
    """OIDC_GROUP_MAP cannot be read; the message names the problem."""


@dataclass(frozen=True)
class Grant:
    """What one group gives."""

    team: str = ""
    team_admin: bool = False
    staff: bool = False


def env_group_map(raw: str | None = None) -> dict[str, Grant]:
    """OIDC_GROUP_MAP as {group: Grant}; a malformed value raises GroupMapError."""
    raw = settings.OIDC_GROUP_MAP if raw is None else raw
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise GroupMapError(f"OIDC_GROUP_MAP is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise GroupMapError("OIDC_GROUP_MAP must be a JSON object of group names")
    mapping = {}
    for group, grant in data.items():
        if not isinstance(grant, dict) or set(grant) - {"team", "team_admin", "staff"}:
            raise GroupMapError(
                f"OIDC_GROUP_MAP[{group!r}] must be an object with team, team_admin and/or staff"
            )
        mapping[str(group)] = Grant(
            team=str(grant.get("team") or ""),
            team_admin=bool(grant.get("team_admin")),
            staff=bool(grant.get("staff")),
        )
    return mapping


def group_map() -> dict[str, Grant]:
    """The environment's mapping, then the admin's (which wins for a group named in both)."""
    mapping = env_group_map()
    for row in GroupMapping.objects.select_related("team"):
        mapping[row.group] = Grant(
            team=row.team.name if row.team else "", team_admin=row.team_admin, staff=row.staff
        )
    return mapping


def apply_member_defaults(*, user, team: Team, reason: str) -> None:
    """The team's member_defaults on `user`'s own account (audited), if it has any."""
    defaults = {k: v for k, v in (team.member_defaults or {}).items() if k in DEFAULT_FIELDS}
    if defaults:
        quotas.account_update(
            account=ledger.account_for(user), actor=None, reason=reason, action="team defaults", **defaults
        )


def join_team(*, user, team: Team, is_admin: bool, actor, reason: str) -> bool:
    """Put `user` on `team` (leaving any other), audited; a newcomer's own
    account gets the team's member defaults. False when nothing changed."""
    with transaction.atomic():
        current = TeamMembership.objects.select_for_update().filter(user=user).first()
        before = {"team": current.team.name, "is_admin": current.is_admin} if current else {}
        if current and current.team_id == team.pk and current.is_admin == is_admin:
            return False
        moved = current is None or current.team_id != team.pk
        if current:
            current.team, current.is_admin = team, is_admin
            current.save(update_fields=["team", "is_admin"])
        else:
            current = TeamMembership.objects.create(user=user, team=team, is_admin=is_admin)
        audit_record(
            actor=actor,
            obj=current,
            action="team join" if moved else "team role",
            before=before,
            after={"team": team.name, "is_admin": is_admin, "user": user.get_username()},
            reason=reason,
        )
        if moved:
            apply_member_defaults(user=user, team=team, reason=reason)
    return True


def leave_team(*, user, actor, reason: str) -> bool:
    with transaction.atomic():
        current = (
            TeamMembership.objects.select_for_update(of=("self",))
            .select_related("team")
            .filter(user=user)
            .first()
        )
        if current is None:
            return False
        audit_record(
            actor=actor,
            obj=current,
            action="team leave",
            before={"team": current.team.name, "is_admin": current.is_admin, "user": user.get_username()},
            after={},
            reason=reason,
        )
        current.delete()
    return True


def apply_groups(*, user, groups: list[str], provider: str) -> None:
    """Re-evaluate `user`'s team and staff status from their group claim.

    The first mapped group naming a team decides the team (team admin if any
    of the user's groups mapped to that team says so); a user whose groups
    map to no team leaves a team only if it is one the mapping manages and
    they did not join it by invitation. Staff status follows the staff groups
    when the mapping names any; superusers are never changed."""
    mapping = group_map()
    if not mapping:
        return
    reason = f"group mapping at sign-in through {provider} (groups: {', '.join(groups) or 'none'})"
    grants = [mapping[g] for g in groups if g in mapping]
    team_name = next((g.team for g in grants if g.team), "")
    if team_name:
        team, _ = Team.objects.get_or_create(name=team_name)
        admin = any(g.team_admin for g in grants if g.team == team_name)
        join_team(user=user, team=team, is_admin=admin, actor=None, reason=reason)
    else:
        managed = {g.team for g in mapping.values() if g.team}
        current = TeamMembership.objects.filter(user=user, team__name__in=managed).first()
        invited = current and Invitation.objects.filter(accepted_by=user, team_id=current.team_id).exists()
        if current and not invited:
            leave_team(user=user, actor=None, reason=reason)
    if any(g.staff for g in mapping.values()) and not user.is_superuser:
        staff = any(g.staff for g in grants)
        if user.is_staff != staff:
            before = {"is_staff": user.is_staff}
            type(user).objects.filter(pk=user.pk).update(is_staff=staff)
            user.is_staff = staff
            audit_record(
                actor=None,
                obj=user,
                action="staff granted" if staff else "staff removed",
                before=before,
                after={"is_staff": staff, "user": user.get_username()},
                reason=reason,
            )
