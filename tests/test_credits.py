import threading

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from generations.billing import ledger
from generations.lifecycle import services
from generations.models import CreditAccount, CreditEntry, Generation
from tests.conftest import make_user


def new_generation(user, cost=5):
    return Generation.objects.create(
        owner=user, prompt="p", width=1024, height=1024, provider="demo", credits_cost=cost
    )


def test_it_holds_then_captures(owner):
    gen = new_generation(owner)
    ledger.hold(generation=gen, amount=5)
    assert ledger.balance(user=owner) == ledger.Balance(available=95, held=5)
    ledger.capture(generation=gen)
    assert ledger.balance(user=owner) == ledger.Balance(available=95, held=0)
    assert ledger.ledger_problems() == []


def test_it_releases_a_hold(owner):
    gen = new_generation(owner)
    ledger.hold(generation=gen, amount=5)
    ledger.release(generation=gen)
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_it_settles_only_once(owner):
    gen = new_generation(owner)
    ledger.hold(generation=gen, amount=5)
    assert ledger.capture(generation=gen) is not None
    assert ledger.release(generation=gen) is None  # a task run twice changes nothing
    assert ledger.capture(generation=gen) is None
    assert ledger.balance(user=owner).available == 95
    assert CreditEntry.objects.filter(generation=gen).count() == 2


def test_it_refuses_a_hold_beyond_the_balance_and_writes_nothing(owner):
    gen = new_generation(owner, cost=101)
    entries = CreditEntry.objects.count()
    with pytest.raises(ledger.InsufficientCredits, match="costs 101 credits but only 100"):
        ledger.hold(generation=gen, amount=101)
    assert CreditEntry.objects.count() == entries
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_it_refuses_a_deduction_below_zero(owner, admin_user):
    with pytest.raises(ledger.InsufficientCredits):
        ledger.adjust(user=owner, amount=-101, actor=admin_user, note="oops")
    entry = ledger.adjust(user=owner, amount=-40, actor=admin_user, note="refund to card")
    assert entry.actor == admin_user and entry.kind == "adjustment"
    assert ledger.balance(user=owner).available == 60


def test_it_requires_a_reason_for_adjustments(owner, admin_user):
    with pytest.raises(ValueError, match="reason"):
        ledger.adjust(user=owner, amount=10, actor=admin_user, note=" ")


def test_it_makes_grants_idempotent_by_key(owner):
    ledger.grant(user=owner, amount=10, idempotency_key="k1")
    ledger.grant(user=owner, amount=10, idempotency_key="k1")
    assert ledger.balance(user=owner).available == 110


def test_it_keeps_entries_append_only(owner):
    entry = CreditEntry.objects.first()
    entry.amount = 1000
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_check_ledger_names_the_culprits(owner, capsys):
    call_command("check_ledger")
    assert "ledger OK" in capsys.readouterr().out
    CreditAccount.objects.filter(user=owner).update(balance=500)
    gen = new_generation(owner)
    Generation.objects.filter(pk=gen.pk).update(status="succeeded")
    with pytest.raises(Exception, match="ledger problem"):
        call_command("check_ledger")
    err = capsys.readouterr().err
    assert "alice: balance 500 != ledger sum 100" in err
    assert f"generation {gen.pk} (succeeded): 0 hold(s)" in err


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("way", ["hold", "create"])  # create: credits_fast's one statement
def test_it_lets_only_one_of_two_racing_holds_take_the_last_credits(way):
    args = {"prompt": "p", "width": 1024, "height": 1024, "provider": "demo"}
    cost = 5 if way == "hold" else services.generation_quote(**args)[1]
    user = make_user("racer", credits_amount=cost)
    barrier, outcomes = threading.Barrier(2), []

    def take():
        barrier.wait()
        try:
            if way == "hold":
                ledger.hold(generation=new_generation(user, cost=cost), amount=cost)
            else:
                services.generation_create(user=user, claim=True, **args)
            outcomes.append("won")
        except ledger.InsufficientCredits:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert ledger.balance(user=user) == ledger.Balance(available=0, held=cost)
    assert CreditEntry.objects.filter(kind="hold").count() == 1
    assert ledger.ledger_problems() == []
