"""A system check (`manage.py check`, and every start of the site): a
malformed OIDC_GROUP_MAP is named at start-up rather than failing someone's
sign-in later."""

from django.core import checks

from generations.accounts.membership import GroupMapError, env_group_map


@checks.register(checks.Tags.security)
def group_map_readable(app_configs=None, **kwargs):
    try:
        env_group_map()
    except GroupMapError as error:
        return [checks.Error(str(error), id="generations.E023")]
    return []
