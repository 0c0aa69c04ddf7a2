"""End-to-end fixtures: a real MockProvider and a real switchboard on 127.0.0.1, ports chosen by the OS."""
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SWITCHBOARD_BIN_DIR", ROOT / ".build" / "debug"))


class Process:
    """A child process whose output is collected by a thread, so pipes never fill up."""

    def __init__(self, args, env=None, cwd=ROOT):
        self.args = [str(a) for a in args]
        self.lines = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            self.args, cwd=cwd, env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pattern, timeout=30):
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    match = regex.search(line)
                    if match:
                        return match
                if self.proc.poll() is not None and not any(regex.search(l) for l in self.lines):
                    raise RuntimeError(f"{self.args[0]} exited ({self.proc.returncode}):\n" + "\n".join(self.lines))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no line matching {pattern!r} from {self.args}:\n" + "\n".join(self.lines))
                self._cond.wait(remaining)

    def output(self):
        with self._cond:
            return "\n".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_mock():
    mock = Process([BIN / "MockProvider", "--port", "0"])
    port = int(mock.wait_for(r"MockProvider listening on http://127\.0\.0\.1:(\d+)").group(1))
    mock.url = f"http://127.0.0.1:{port}"
    return mock


def start_gateway(*extra, providers=ROOT / "providers", scripts=ROOT / "scripts", plugins=ROOT / "plugins", env=None):
    gateway = Process(
        [BIN / "switchboard", "--port", "0", "--providers", providers, "--scripts", scripts, "--plugins", plugins, *extra],
        env=env)
    port = int(gateway.wait_for(r"switchboard listening on http://127\.0\.0\.1:(\d+)").group(1))
    gateway.url = f"http://127.0.0.1:{port}"
    return gateway


@pytest.fixture(scope="session")
def mock():
    process = start_mock()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def gateway():
    process = start_gateway()
    yield process
    process.stop()


@pytest.fixture
def launch():
    """Starts extra gateways with their own flags; stops them after the test."""
    started = []

    def _launch(*extra, **kwargs):
        process = start_gateway(*extra, **kwargs)
        started.append(process)
        return process

    yield _launch
    for process in started:
        process.stop()


@pytest.fixture
def providers_copy(tmp_path):
    """A writable copy of the bundled providers folder."""
    target = tmp_path / "providers"
    shutil.copytree(ROOT / "providers", target)
    return target
