"""Who is on a user's team: the one place that answers it for sharing.

A team is the admin's `Team`; its members (`TeamMembership`, one team per
user) are teammates and can see what each other shares with the team.
"""

from django.contrib.auth import get_user_model


def teammates_of(user):
    """A queryset of the other users on `user`'s team (lazy: used as a subquery)."""
    return (
        get_user_model()
        .objects.filter(
            team_membership__team__memberships__user=user,
        )
        .exclude(pk=user.pk)
    )


def team_admins_of(user):
    """The admins of `user`'s team other than `user` (a queryset of users):
    whom a member asks for credits, and who may grant them from the pool."""
    return (
        get_user_model()
        .objects.filter(
            team_membership__is_admin=True,
            team_membership__team__memberships__user=user,
        )
        .exclude(pk=user.pk)
        .order_by("username")
    )


def has_team(user) -> bool:
    """Whether `user` is on a team, so that "Share with my team" means something."""
    return get_user_model().objects.filter(pk=user.pk, team_membership__isnull=False).exists()
