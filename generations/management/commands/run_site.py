import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and a Huey consumer together; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, **opts):
        manage = [sys.executable, "manage.py"]
        procs = [
            subprocess.Popen([*manage, "run_huey"]),
            subprocess.Popen([*manage, "runserver", "--noreload", opts["addr"]]),
        ]
        self.stdout.write(self.style.SUCCESS(
            f"Z-Image Studio on http://{opts['addr']}/  (web + worker; Ctrl-C stops both)"))
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
            self.stderr.write("one process stopped; stopping the other")
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
