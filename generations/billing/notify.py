"""E-mails to users about their account, through Django's e-mail backend."""

import logging

from django.conf import settings
from django.core.mail import send_mail

from generations.runtime.dbconn import connection_release_idle

log = logging.getLogger(__name__)


def low_balance(*, account_id: int) -> None:
    """Tell the account's owner (a team pool: its team admins) that credits run low.
    Called after commit; a mail server being down must not break a generation."""
    from generations.models import CreditAccount

    account = CreditAccount.objects.select_related("user", "team").get(pk=account_id)
    if account.team is not None:
        users = [m.user for m in account.team.memberships.filter(is_admin=True).select_related("user")]
    else:
        users = [account.user] if account.user else []
    recipients = [u.email for u in users if u.email]
    if not recipients:
        return
    connection_release_idle()  # the mail server may take EMAIL_TIMEOUT to answer
    try:
        send_mail(
            subject="Z-Image Studio: credits running low",
            message=(
                f"The credit balance of {account.owner_label} is down to {account.balance}. "
                f"Ask an admin for more credits, or wait for the monthly allowance.\n\n"
                f"{settings.SITE_URL}/"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    except OSError:
        log.exception("could not send the low-balance e-mail for account %s", account_id)


def credit_request_answered(*, request_id: int) -> None:
    """E-mail the requester that their credit request was approved or declined,
    when they have an address. Called after commit; the dashboard tells them
    too, so a mail server being down loses nothing."""
    from generations.models import CreditRequest

    request = CreditRequest.objects.select_related("requester", "decided_by").get(pk=request_id)
    address = request.requester.email
    if not address:
        return
    connection_release_idle()
    try:
        send_mail(
            subject=f"Z-Image Studio: credit request {request.state}",
            message=(
                f"Your request for {request.amount} credits ({request.reason}) was "
                f"{request.state} by {request.decided_by}.\n\n"
                f"{settings.SITE_URL}/credits/"
            ),
            from_email=None,
            recipient_list=[address],
        )
    except OSError:
        log.exception("could not send the credit-request e-mail for request %s", request_id)
