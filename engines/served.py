"""The served chat models of ``[chat]``: a client for each, and a supervisor for each the
host runs itself (embedded: no ``url``).

``[chat]`` is the primary model (``model``; the bundled SmolLM2 unless
``model_path`` names another); each ``[chat.models.NAME]`` table adds one, served
by the host on its own port (``bundled`` or ``model_path``) or by a deployment
at its ``url``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engines import provision
from engines.chat import ChatEngine, VllmChat
from engines.chat_router import ChatRouter
from engines.live import LiveWork
from engines.on_demand import Demand
from engines.settings import INTERACTIVE_WORKLOADS, ChatSettings, EngineSettings
from engines.vllm_server import ServerSpec, VllmSupervisor


@dataclass(frozen=True)
class Served:
    """One served model: where it answers, and its supervisor when the host runs it."""

    name: str
    url: str
    supervisor: VllmSupervisor | None
    demand: Demand | None = None  # on demand: started by requests, stopped when idle
    idle_stop_s: float = 0.0
    prepare_hint: str = ""  # a bundled model's name, for `models prepare`


def served_models(settings: EngineSettings, live: LiveWork | None = None) -> dict[str, Served]:
    """Each served model of ``[chat]``; the embedded servers of bulk work alone (no
    interactive workload is routed to them) yield the CPU to ``live`` calls."""
    chat = settings.chat
    interactive = {chat.route(workload) for workload in INTERACTIVE_WORKLOADS}
    logs = settings.logs_dir
    python = settings.vllm_python
    served: dict[str, Served] = {}
    if chat.url is None:
        path = chat.model_path or provision.model_dir(settings, provision.PRIMARY_CHAT)
        spec = ServerSpec.primary(chat, path)
        bulk_only = None if chat.model in interactive else live
        supervisor = VllmSupervisor(spec, python, logs / "vllm.log", bulk_only)
        served[chat.model] = Served(chat.model, supervisor.url, supervisor)
    else:
        served[chat.model] = Served(chat.model, chat.url, None)
    for name, model in chat.models.items():
        if model.url is not None:
            served[name] = Served(name, model.url, None)
            continue
        path = model.model_path or provision.model_dir(settings, str(model.bundled))
        spec = ServerSpec.served(name, model, path, chat.device)
        log = logs / f"vllm-{_file_name(name)}.log"
        bulk_only = None if name in interactive else live
        supervisor = VllmSupervisor(spec, python, log, bulk_only)
        demand = Demand(logs / f"{_file_name(name)}.demand") if model.on_demand else None
        hint = model.bundled or ""
        served[name] = Served(name, supervisor.url, supervisor, demand, model.idle_stop_s, hint)
    return served


def router(
    chat: ChatSettings, served: dict[str, Served], live: LiveWork | None = None
) -> ChatRouter:
    """The chat engine over every served model; bulk work yields to ``live`` calls."""
    clients: dict[str, ChatEngine] = {}
    for name, model in served.items():
        extra = chat.models.get(name)
        key = extra.api_key if extra is not None else chat.api_key
        served_name = extra.served_name if extra is not None and extra.url else None
        clients[name] = VllmChat(
            model.url,
            served_name or name,
            api_key=key.get_secret_value() if key else None,
            timeout_s=chat.timeout_s,
            stall_timeout_s=chat.stall_timeout_s,
            connect_timeout_s=chat.connect_timeout_s,
            max_retries=chat.max_retries,
            engine_wait_s=chat.engine_wait_s,
            bulk_concurrency=chat.bulk_slots,
            adaptive=chat.bulk_concurrency == "auto",
            live=live,
            priority_scheduling=chat.priority_scheduling,
            merchant_models=chat.merchant_models if name == chat.model else None,
        )
    on_demand = {name: model.demand for name, model in served.items() if model.demand}
    unready = {
        name: _unprepared(model) for name, model in served.items() if model.demand is not None
    }
    idle = {name: model.idle_stop_s for name, model in served.items() if model.demand}
    return ChatRouter(
        clients,
        chat.route,
        chat.bulk_slots,
        on_demand,
        idle,
        chat.startup_timeout_s,
        {name: check for name, check in unready.items() if check is not None},
    )


def _unprepared(model: Served) -> Callable[[], str | None] | None:
    """For an on-demand server: why it cannot start now (its model folder missing), so a
    request fails at once instead of waiting for a server that never comes."""
    supervisor = model.supervisor
    if supervisor is None:
        return None
    folder = supervisor.model_path

    def problem() -> str | None:
        if (folder / "config.json").is_file():
            return None
        how = f"flask --app app models prepare {model.prepare_hint}" if model.prepare_hint else ""
        return f"the model of {model.name} is not in {folder}" + (f": run `{how}`" if how else "")

    return problem


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
