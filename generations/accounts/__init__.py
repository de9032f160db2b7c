"""Joining and signing in: OpenID Connect sign-in (django-allauth), group
claims mapped to teams and staff, invitations by e-mail, password reset."""
