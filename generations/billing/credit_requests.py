"""Asking for credits: a member requests an amount with a reason; a site admin
with the credit permission approves it as an ordinary audited grant, or the
member's team admin approves it from the team's pool (an audited transfer);
either may decline. One click each, and the requester is told (a notice on
their next page, and an e-mail when they have an address).

Who may answer is decided here alone (`may_decide`, `decidable_by`): the
pages and the API only ask.
"""

from __future__ import annotations

from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from generations.billing import ledger, notify, quotas
from generations.models import CreditRequest, TeamMembership

GRANT_PERMISSION = "generations.grant_credits"
VIEW_PERMISSION = "generations.view_creditrequest"
MAX_AMOUNT = 100_000
MAX_PENDING = 3  # a member's unanswered requests at once: enough to correct one, not to flood
State = CreditRequest.State


def _site_granter(user) -> bool:
    """Staff who may grant credits in the admin may answer any request."""
    return user.is_active and user.is_staff and user.has_perm(GRANT_PERMISSION)


def _admin_team_id(user) -> int | None:
    """The team `user` is an admin of, if any."""
    membership = TeamMembership.objects.filter(user=user, is_admin=True).only("team_id").first()
    return membership.team_id if membership else None


def credit_request_create(*, user, amount: int, reason: str) -> CreditRequest:
    """Record a request, to the user's team admins when they have a team (and
    always to the site admins). Raises ValidationError naming the problem."""
    reason = (reason or "").strip()
    if not 1 <= amount <= MAX_AMOUNT:
        raise ValidationError(_("Ask for between 1 and %(max)s credits.") % {"max": MAX_AMOUNT})
    if not reason:
        raise ValidationError(_("Say what the credits are for."))
    if CreditRequest.objects.owned_by(user).filter(state=State.PENDING).count() >= MAX_PENDING:
        raise ValidationError(
            _("You already have %(n)s requests waiting for an answer; wait for one first.")
            % {"n": MAX_PENDING}
        )
    membership = TeamMembership.objects.filter(user=user).only("team_id").first()
    return CreditRequest.objects.create(
        requester=user, amount=amount, reason=reason, team_id=membership.team_id if membership else None
    )


def may_decide(user, request: CreditRequest) -> bool:
    """Whether `user` may answer `request`: never their own; a site admin with
    the credit permission any; a team admin those of their own team's members
    (still members: one who left is answered by a site admin)."""
    if not user.is_authenticated or user.pk == request.requester_id:
        return False
    if _site_granter(user):
        return True
    if request.team_id is None or request.team_id != _admin_team_id(user):
        return False
    # Still a member: the pool pays only its own team's members.
    return TeamMembership.objects.filter(user_id=request.requester_id, team_id=request.team_id).exists()


def decidable_by(user) -> QuerySet[CreditRequest]:
    """The pending requests `user` may answer (or, for view-only staff, read)."""
    pending = CreditRequest.objects.filter(state=State.PENDING).exclude(requester=user)
    pending = pending.select_related("requester", "team")
    if _site_granter(user) or (user.is_staff and user.has_perm(VIEW_PERMISSION)):
        return pending
    team_id = _admin_team_id(user)
    if not team_id:
        return pending.none()
    return pending.filter(team_id=team_id, requester__team_membership__team_id=team_id)


def credit_request_decide(*, request_id: int, actor, approve: bool) -> CreditRequest:
    """Approve or decline a pending request, once. Approval by a site admin is
    a grant (`quotas.account_grant`), by a team admin a transfer from the pool
    (`quotas.account_transfer`); both audited with the request's reason. Raises
    PermissionDenied, or ValidationError (answered already, a frozen or short
    pool), writing nothing."""
    with transaction.atomic():
        request = CreditRequest.objects.select_for_update().select_related("requester").get(pk=request_id)
        if not may_decide(actor, request):
            raise PermissionDenied(_("You may not answer this request."))
        if request.state != State.PENDING:
            raise ValidationError(_("This request was answered already."))
        if approve:
            request.from_pool = not _site_granter(actor)
            _pay(request, actor)
        request.state = State.APPROVED if approve else State.DECLINED
        request.decided_by, request.decided_at = actor, timezone.now()
        request.save(update_fields=["state", "decided_by", "decided_at", "from_pool"])
        transaction.on_commit(partial(notify.credit_request_answered, request_id=request.pk))
    return request


def _pay(request: CreditRequest, actor) -> None:
    reason = f"credit request #{request.pk}: {request.reason}"
    account = ledger.account_for(request.requester)
    if not request.from_pool:
        quotas.account_grant(account=account, amount=request.amount, actor=actor, reason=reason)
        return
    assert request.team is not None  # may_decide: a team admin answers only their own team's
    pool = ledger.team_account(request.team)
    if pool.frozen:
        raise ValidationError(_("The team pool is frozen: a site admin must unfreeze it first."))
    try:
        quotas.account_transfer(
            source=pool, target=account, amount=request.amount, actor=actor, reason=reason
        )
    except ledger.InsufficientCredits as exc:
        raise ValidationError(
            _("The team pool has only %(n)s credits; ask a site admin to add some.") % {"n": exc.available}
        ) from exc


def notices_take(user) -> list[CreditRequest]:
    """`user`'s answered requests not yet shown to them, marked shown: the
    dashboard tells each answer once, like a flash message."""
    answered = CreditRequest.objects.owned_by(user).filter(~Q(state=State.PENDING), told_at__isnull=True)
    notices = list(answered.order_by("decided_at"))
    if notices:
        CreditRequest.objects.filter(pk__in=[r.pk for r in notices]).update(told_at=timezone.now())
    return notices
