import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from zimage_site.gunicorn_conf import metrics_dir_reset


class Command(BaseCommand):
    help = "Run the web server and a Huey consumer together; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, **opts):
        manage = [sys.executable, "manage.py"]
        # Both children write their metrics there (settings chose it); a
        # previous run's files would be summed into this one's counters.
        metrics_dir_reset(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        procs = [
            subprocess.Popen([*manage, "run_huey"]),
            subprocess.Popen([*manage, "runserver", "--noreload", opts["addr"]]),
        ]
        self.stdout.write(
            self.style.SUCCESS(f"Z-Image Studio on http://{opts['addr']}/  (web + worker; Ctrl-C stops both)")
        )
        # Installed explicitly: a shell may start us with SIGINT ignored.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _interrupt)
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
            self.stderr.write("one process stopped; stopping the other")
        except KeyboardInterrupt:
            pass
        finally:
            # Huey stops gracefully on SIGINT; runserver may ignore SIGINT, not SIGTERM.
            for p, sig in zip(procs, (signal.SIGINT, signal.SIGTERM), strict=True):
                if p.poll() is None:
                    p.send_signal(sig)
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


def _interrupt(*_):
    raise KeyboardInterrupt
