"""A tiny conditioned hybrid model on disk and helpers to run the real `qedm serve` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="session")
def iris_model_dir(tmp_path_factory) -> Path:
    from qedm import QEDM
    from qedm.data import load_dataset

    path = tmp_path_factory.mktemp("served") / "iris"
    QEDM(denoiser="hybrid", n_qubits=4, hidden=32, epochs=2, condition_column="target").fit(
        load_dataset("iris")).save(path)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m qedm.cli serve ...` on a free loopback port; its log is kept in a file."""

    def __init__(self, args: list[str], log_path: Path, port: int | None = None) -> None:
        self.args, self.port = args, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "qedm.cli", "serve", *args, "--port", str(self.port)],
                                        stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.wait_ready()

    def restart(self) -> "ServerProcess":
        """A new server process with the same arguments, port and log file (this one must have exited)."""
        return ServerProcess(self.args, self.log_path, self.port)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM (unless it has exited already), then its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            if not self._log.closed:
                self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if not self._log.closed:
            self._log.close()
