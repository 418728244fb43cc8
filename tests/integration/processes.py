"""Services under test run as real processes: `python -m services.<name>`."""

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from deploy.stack.settings import PROJECT_ROOT


# Every process a test started, so that a failing test leaves none behind (see conftest).
STARTED: list["ServiceProcess"] = []


class ServiceProcess:
    def __init__(self, module: str, env: dict[str, str], port_var: str, log: Path) -> None:
        self.module = module
        self.env = env
        self.port = int(env[port_var])
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.url(path), timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return None

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.url(path), timeout=5) as response:
            return response.read().decode()

    def start(self, timeout_s: float = 60.0) -> "ServiceProcess":
        return self.spawn().wait_ready(timeout_s)

    def spawn(self) -> "ServiceProcess":
        """Launch the process without waiting for it to be ready (start several, then wait for each)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", self.module], env=self.env,
                                         cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
        STARTED.append(self)
        return self

    def wait_ready(self, timeout_s: float = 60.0) -> "ServiceProcess":
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited with {self.proc.returncode}:\n{self.tail()}")
            if self.status("/health/ready") == 200:
                return self
            time.sleep(0.2)
        raise TimeoutError(f"{self.module} not ready after {timeout_s}s:\n{self.tail()}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout_s: float = 45.0) -> int:
        """SIGTERM, as an orchestrator does; return the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> "ServiceProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.terminate()
