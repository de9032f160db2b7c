import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from generations.billing import ledger
from generations.models import CreditEntry, Generation
from tests.helpers import ROOT, database_url


def manage(*args, env=None):
    full_env = {**os.environ, "DATABASE_URL": database_url(), **(env or {})}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_generate_wait_prints_the_stored_file(admin_user, consumer):
    consumer()
    done = manage("generate", "a red fox in snow", "--wait", "--seed", "5")
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    path = done.stdout.split("stored: ")[1].split()[0]
    gen = Generation.objects.get()
    assert gen.owner == admin_user and gen.status == "succeeded" and gen.seed_used == 5
    if not path.startswith("s3://"):
        assert os.path.getsize(path) == gen.image_bytes
    assert manage("check_ledger").returncode == 0


@pytest.mark.slow
def test_generate_wait_exits_non_zero_with_the_error(owner, consumer):
    consumer()
    done = manage("generate", "boom [demo-fail]", "--wait", "--user", "alice")
    assert done.returncode == 1
    assert "failed: DemoFailure: The demo renderer was asked to fail." in done.stderr
    assert ledger.balance(user=owner).available == 100


@pytest.mark.slow
def test_generate_n_follows_a_batch_with_a_progress_bar(owner, consumer):
    consumer()
    done = manage("generate", "a lighthouse", "--n", "4", "--seed", "9", "--wait", "--user", "alice")
    assert done.returncode == 0, done.stderr
    assert "4 images queued, 8 credits held" in done.stdout
    assert "[##############################] 4/4 done: 4 stored, 0 failed" in done.stdout
    assert "all 4 images stored" in done.stdout
    assert sorted(Generation.objects.values_list("seed_used", flat=True)) == [9, 10, 11, 12]


@pytest.mark.slow
def test_batch_from_a_file_exits_non_zero_naming_the_failed_images(owner, consumer, tmp_path):
    consumer()
    prompts = tmp_path / "products.csv"
    prompts.write_text("prompt,size,seed\na red mug,512x512,1\na vase [demo-fail],,2\na lamp,,3\n")
    done = manage("batch", str(prompts), "--user", "alice", "--size", "1024x1024")
    assert done.returncode == 1
    assert "3/3 done: 2 stored, 1 failed, 0 canceled" in done.stdout
    assert "image 2 ('a vase [demo-fail]', seed 2): failed DemoFailure" in done.stderr
    assert "1 failed and 0 canceled of 3 (refunded); the rest are stored." in done.stderr
    batch = Generation.objects.get(prompt="a red mug").batch
    assert batch.name == "products" and batch.generations.filter(status="succeeded").count() == 2
    assert ledger.balance(user=owner).available == 100 - 1 - 2  # the failed image was refunded


def test_batch_refuses_a_bad_file_and_writes_nothing(owner, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"prompt": "wide", "size": "9000x1024"}\n')
    with pytest.raises(CommandError, match="Image 2: "):
        call_command("batch", str(bad), "--user", "alice")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("batch", str(tmp_path / "missing.txt"), "--user", "alice")
    many = tmp_path / "many.txt"
    many.write_text("a fox\n" * 60)
    with pytest.raises(CommandError, match="enough for 50 of them"):
        call_command("batch", str(many), "--user", "alice")
    assert not Generation.objects.exists()


def test_generate_refuses_bad_input_and_writes_nothing(owner):
    with pytest.raises(CommandError, match="Size must look like 1024x1024"):
        call_command("generate", "fox", "--size", "big", "--user", "alice")
    with pytest.raises(CommandError, match="size: 4096 x 4096 = 16.78 MP is above"):
        call_command("generate", "fox", "--size", "4096x4096", "--user", "alice")
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("generate", "fox", "--user", "nobody")
    assert not Generation.objects.exists()
    assert CreditEntry.objects.filter(kind="hold").count() == 0


def test_bootstrap_admin_prints_a_one_time_password_once(db, capsys, monkeypatch, settings):
    settings.STARTING_CREDITS = 100
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    call_command("bootstrap_admin")
    out = capsys.readouterr().out
    password = out.split("one-time password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert ledger.balance(user=admin).available == 100
    call_command("bootstrap_admin")
    assert "exists" in capsys.readouterr().out
    assert ledger.balance(user=admin).available == 100  # not granted twice


def test_bootstrap_admin_takes_the_password_from_the_environment(db, capsys, monkeypatch):
    monkeypatch.setenv("ADMIN_USERNAME", "boss")
    monkeypatch.setenv("ADMIN_PASSWORD", "s3cret-pass")
    call_command("bootstrap_admin")
    assert "s3cret-pass" not in capsys.readouterr().out
    assert get_user_model().objects.get(username="boss").check_password("s3cret-pass")


@pytest.mark.slow
def test_run_site_serves_and_stops_both_processes_on_ctrl_c(transactional_db):
    import signal
    import socket

    import httpx

    from tests.helpers import wait_for

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url()}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_site", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def answers():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 302
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, timeout=30, what="the web server")
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        pids = [int(p) for p in children.stdout.split()]
        assert len(pids) == 2  # web and worker
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert proc.wait(timeout=20) == 0
        for pid in pids:
            wait_for(
                lambda pid=pid: not os.path.exists(f"/proc/{pid}"), timeout=10, what=f"child {pid} to exit"
            )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
