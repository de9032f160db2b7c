"""Who is on a user's team: the one place that answers it.

Until a Team model exists, a team is a Django auth Group whose name starts
with "team:"; users sharing such a group are teammates.
"""

from django.contrib.auth import get_user_model

TEAM_GROUP_PREFIX = "team:"


def teammates_of(user):
    """A queryset of the other users on any of `user`'s teams (lazy: used as a subquery)."""
    return get_user_model().objects.filter(
        groups__name__startswith=TEAM_GROUP_PREFIX,
        groups__in=user.groups.filter(name__startswith=TEAM_GROUP_PREFIX),
    ).exclude(pk=user.pk)
