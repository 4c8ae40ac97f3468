"""``voces`` in subprocesses: one CLI command, or a server started on a free loopback port
and waited for; the memory and CPU a process has used.

bench/load.py and bench/search.py start ``voces serve`` this way (bench/search.py its
txtai server too, through ``wait_ready``). Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

VOCES = Path(sys.executable).parent / "voces"
HOST = "127.0.0.1"
try:
    import psutil  # type: ignore[import-untyped]  # noqa: F401

    RSS_SOURCE = "psutil, with children"
except ImportError:
    RSS_SOURCE = "/proc/PID/status"


def voces_env(home: Path) -> dict[str, str]:
    """This process's environment for a ``voces`` subprocess on the archive in ``home``:
    the usual model cache, no API token (keys are made by ``voces keys create``), and no
    queue URL (the queue in VOCES_HOME, its worker in the server)."""
    env = {**os.environ, "VOCES_HOME": str(home)}
    env.setdefault("VOCES_CACHE_DIR", str(Path.home() / ".cache" / "voces"))
    env.pop("VOCES_API_TOKEN", None)
    env.pop("VOCES_QUEUE_URL", None)
    return env


def voces(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    """``voces ARGS`` to the end; its standard output. Exits with its error output if it fails."""
    done = subprocess.run(
        [str(VOCES), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"voces {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(env: dict[str, str], tmp: Path, timeout: float = 300) -> tuple[Server, float]:
    """``voces serve`` on a free port, its output in ``tmp``/server.log; (server, seconds
    until /api/v1/health answered)."""
    port = free_port()
    log = tmp / "server.log"
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(VOCES), "serve", "--host", HOST, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Server(proc, f"http://{HOST}:{port}", log)
    return wait_ready(server, "/api/v1/health", "voces serve", timeout, t0)


def wait_ready(
    server: Server,
    health: str,
    what: str,
    timeout: float,
    t0: float,
    error: type[BaseException] = SystemExit,
) -> tuple[Server, float]:
    """Wait until ``health`` answers 200; (server, seconds since ``t0``). Raises ``error``
    with the server's log tail if it exits or does not answer within ``timeout``."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base, trust_env=False, timeout=5) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise error(f"{what} exited ({server.proc.returncode}):\n{tail(server.log)}")
            try:
                if client.get(health).status_code == 200:
                    return server, time.perf_counter() - t0
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    server.stop()
    raise error(f"{what} did not answer in {timeout:.0f} s:\n{tail(server.log)}")


def tail(path: Path, n: int = 3000) -> str:
    return path.read_text("utf-8", errors="replace")[-n:] if path.is_file() else ""


# -- what a process has used ---------------------------------------------------------------


def rss_mb(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of the process and its children, in MiB."""
    try:
        import psutil  # type: ignore[import-untyped]

        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        rss = sum(p.memory_info().rss for p in procs) / 2**20
        hwm = rss
        status = Path(f"/proc/{pid}/status")
        if status.is_file():
            hwm = max(hwm, _proc_status(status).get("VmHWM", 0.0))
        return rss, hwm
    except ImportError:
        pass
    except Exception:
        return 0.0, 0.0
    try:
        values = _proc_status(Path(f"/proc/{pid}/status"))
    except OSError:
        return 0.0, 0.0
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _proc_status(path: Path) -> dict[str, float]:
    out = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) / 1024  # kB -> MiB
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (0 where /proc is not there)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0
