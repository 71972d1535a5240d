"""The engines' own settings: what each engine needs, and nothing of the host.

The host builds an :class:`EngineSettings` from its configuration (the
``[chat]``, ``[speech]`` and ``[tts]`` tables are these models; ``[models]``
gives the folders), so the engines run the same inside the host, in a
benchmark or in a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from engines.hardware import fast_half_precision

Device = Literal["auto", "cpu", "cuda"]


def count_or_auto(value: Any) -> Any:
    """A setting that is a whole number from 1, or "auto" (also as environment text)."""
    if value == "auto":
        return value
    if isinstance(value, str) and value.strip().isdigit():  # from the environment
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError('must be a whole number of at least 1, or "auto"')
    return value


class EngineSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


BUNDLED_CHAT = (
    "smollm2-135m-instruct",
    "qwen2.5-coder-0.5b-instruct",
    "qwen2.5-coder-1.5b-instruct",
)
"""The bundled chat models ``models prepare`` builds (engines.provision)."""
EMBEDDED_ONLY = frozenset(
    {
        "bundled",
        "model_path",
        "port",
        "dtype",
        "max_model_len",
        "kv_cache_gib",
        "extra_args",
        "on_demand",
        "idle_stop_s",
        "cpu_cores",
        "nice",
    }
)
INTERACTIVE_WORKLOADS = frozenset({"calls"})
TEXT_MODELS = {  # the default text-work model, by the embedded servers' precision
    "half": ("qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct"),  # a GPU, a bfloat16 CPU
    "float32": ("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct"),  # any other CPU
}
"""Chosen by measurement (docs/performance.md): the 1.5B translates best (bench/translation.py
--compare); in float32 its server needs 11 GiB and batches 36 tokens a second on 2 cores,
so a CPU without native bfloat16 gets the 0.5B (6.1 GiB, 89 tokens a second): with the
calls model and the host, the default configuration fits in 16 GiB on every machine."""
TEXT_SERVER: dict[str, object] = {  # the default text model's [chat.models.NAME] table
    "port": 8012,
    "on_demand": True,
    "idle_stop_s": 600.0,
    "kv_cache_gib": 1,  # 1.5B: 37k tokens in bfloat16; 0.5B: 44k in float32
    "cpu_cores": "all",  # batches of text work use every core, and yield them to calls
    "nice": 10,
}


def text_model(device: str = "auto", dtype: str = "auto") -> tuple[str, dict[str, object]]:
    """The default text model for embedded servers on ``device``: its name and table."""
    name, bundled = TEXT_MODELS["half" if fast_half_precision(device, dtype) else "float32"]
    return name, {**TEXT_SERVER, "bundled": bundled}


CPU_CORES = r"^(auto|all|\d+(-\d+)?(,\d+(-\d+)?)*)$"
CPU_CORES_HELP = (
    "Embedded CPU server: the cores its threads run on. auto: vLLM's choice (all but one,"
    " kept for its frontend); all: every core; or a list, e.g. 0-3 or 0,2."
)
NICE_HELP = "Embedded server's CPU priority (nice, 0-19): higher yields the CPU to the rest."


class ServedModel(EngineSection):
    """``[chat.models.NAME]``: another served model, for the workloads routed to it.

    Embedded (no ``url``): the host runs its own vLLM server for it, on ``port``.
    """

    url: str | None = Field(None, description="Its vLLM deployment. Unset: the host runs one.")
    api_key: SecretStr | None = Field(None, description="Bearer key of that deployment.")
    served_name: str | None = Field(
        None, description="The model's name at that deployment, if not the table's NAME."
    )
    bundled: str | None = Field(
        None, description="A bundled model (`models prepare NAME`) the embedded server serves."
    )
    model_path: Path | None = Field(None, description="Or a model folder of your own.")
    port: int = Field(8012, ge=1, le=65535, description="Loopback port of its embedded server.")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="As [chat] dtype."
    )
    max_model_len: int = Field(4096, ge=256, description="Context length of its server.")
    kv_cache_gib: int = Field(2, ge=1, description="KV cache of its embedded CPU server (GiB).")
    extra_args: list[str] = Field([], description="More `vllm serve` arguments.")
    on_demand: bool = Field(
        False,
        description="Embedded: started when its first request comes (which waits for it), not"
        " with the host; for bulk workloads.",
    )
    idle_stop_s: float = Field(
        600.0, gt=0, description="Embedded, on demand: stopped after this long without requests."
    )
    cpu_cores: str = Field("auto", pattern=CPU_CORES, description=CPU_CORES_HELP)
    nice: int = Field(0, ge=0, le=19, description=NICE_HELP)


class ChatSettings(EngineSection):
    url: str | None = Field(
        None, description="An existing vLLM server (OpenAI API). Unset: the host runs its own."
    )
    api_key: SecretStr | None = Field(
        None, description="Bearer key of that server, if it wants one."
    )
    model: str = Field("smollm2", description="Served model name.")
    model_path: Path | None = Field(
        None, description="Model folder for the embedded server. Unset: the bundled SmolLM2."
    )
    device: Device = Field("auto", description="Embedded server device.")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto",
        description="Embedded server weights; auto: on a CPU, bfloat16 where it has native"
        " bfloat16 (AVX512-BF16, AMX), else float32; on a GPU, the model's own.",
    )
    port: int = Field(8011, ge=1, le=65535, description="Loopback port of the embedded server.")
    max_model_len: int = Field(4096, ge=256, description="Context length of the embedded server.")
    kv_cache_gib: int = Field(
        1,
        ge=1,
        description="KV cache of the embedded CPU server (GiB); 1 holds 46k tokens of SmolLM2,"
        " a dozen calls' context.",
    )
    extra_args: list[str] = Field([], description="More `vllm serve` arguments (embedded).")
    cpu_cores: str = Field("auto", pattern=CPU_CORES, description=CPU_CORES_HELP)
    nice: int = Field(0, ge=0, le=19, description=NICE_HELP)
    priority_scheduling: bool = Field(
        True,
        description="Send request priorities (server started with --scheduling-policy priority).",
    )
    timeout_s: float = Field(
        60.0,
        gt=0,
        description="Longest an interactive request (a call turn) may take, from admission,"
        " not counting the time its reader holds a streamed piece; bulk requests (jobs) have"
        " no deadline, see stall_timeout_s.",
    )
    stall_timeout_s: float = Field(
        120.0,
        gt=0,
        description="A bulk request fails only when its server is down, or wrote no token to"
        " it nor to any other request for this long; waiting for admission, a busy server or"
        " a restart never counts.",
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="Longest wait to connect.")
    max_retries: int = Field(2, ge=0, description="Retries (with backoff) of transient failures.")
    engine_wait_s: float = Field(
        300.0,
        ge=0,
        description="Then a bulk request (a job's) waits this long for its server to answer again"
        " (a restart), once; an interactive one (a call turn) does not wait. 0: never.",
    )
    bulk_concurrency: int | Literal["auto"] = Field(
        "auto",
        description="Bulk requests in flight per served model and host process; interactive"
        ' ones skip the line. "auto": adapted to the pace the server keeps, from 1 to'
        " bulk_ceiling; a number: fixed.",
    )
    bulk_ceiling: int = Field(
        32, ge=1, description='The most bulk requests "auto" lets in flight per served model.'
    )

    _bulk_concurrency = field_validator("bulk_concurrency", mode="before")(count_or_auto)

    @property
    def bulk_slots(self) -> int:
        """The most bulk requests in flight per served model and process."""
        return self.bulk_ceiling if self.bulk_concurrency == "auto" else self.bulk_concurrency

    startup_timeout_s: float = Field(
        900.0, gt=0, description="Longest wait for the embedded server."
    )
    merchant_models: dict[str, str] = Field(
        {}, description="Per merchant slug: served model or LoRA adapter name."
    )
    lora_modules: dict[str, Path] = Field(
        {}, description="LoRA adapters the embedded server loads: name = path."
    )
    models: dict[str, ServedModel] = Field(
        {},
        description="More served models, by name ([chat.models.NAME]); see workloads. Default:"
        " the text model, embedded, on demand: qwen2.5-coder-1.5b on a GPU or a CPU with"
        " native bfloat16, else qwen2.5-coder-0.5b.",
    )
    workloads: dict[str, str] = Field(
        {},
        description="Per workload (calls, translation, narration, or a plugin's): the served"
        " model that answers it; unnamed workloads go to [chat] model. Default: translation"
        " and narration to the default text model.",
    )

    @model_validator(mode="before")
    @classmethod
    def _own_routes(cls, data: Any) -> Any:
        """The default text model comes only with the default routes: with ``url`` (a
        deployment) and no models, or with models of one's own and no workloads, every
        unrouted workload goes to [chat] model."""
        if not isinstance(data, dict):
            return data
        if data.get("url") and "models" not in data:
            data = {**data, "models": {}}
        if "models" in data and "workloads" not in data:
            data = {**data, "workloads": {}}
        if "models" not in data:  # the default text model, for this machine
            name, table = text_model(data.get("device", "auto"), data.get("dtype", "auto"))
            data = {**data, "models": {name: table}}
            data.setdefault("workloads", {"translation": name, "narration": name})
        return data

    @model_validator(mode="after")
    def _routes(self) -> ChatSettings:
        served = {self.model, *self.models}
        for workload, name in self.workloads.items():
            if name not in served:
                raise ValueError(
                    f"workloads.{workload}: no served model {name!r}; name [chat] model"
                    f" ({self.model!r}) or a [chat.models.NAME] table"
                )
        ports = [self.port] + [m.port for m in self.models.values() if m.url is None]
        if len(set(ports)) != len(ports):
            raise ValueError("models: two embedded servers share a port; give each its own")
        if self.model in self.models:
            raise ValueError(f"models.{self.model}: that is [chat] model's name; choose another")
        for name, model in self.models.items():
            if model.url is None and model.bundled is None and model.model_path is None:
                raise ValueError(f"models.{name}: name its url, bundled or model_path")
            if model.bundled is not None and model.bundled not in BUNDLED_CHAT:
                raise ValueError(
                    f"models.{name}.bundled: {model.bundled!r} is not a bundled chat model"
                    f" ({', '.join(BUNDLED_CHAT)})"
                )
            embedded_only = sorted(model.model_fields_set & EMBEDDED_ONLY)
            if model.url is not None and embedded_only:
                raise ValueError(
                    f"models.{name}: {', '.join(embedded_only)} only apply to a server the host"
                    " runs; this one is at url"
                )
            if model.url is None and model.served_name is not None:
                raise ValueError(f"models.{name}.served_name: only for a model at url")
        for workload, name in self.workloads.items():
            routed = self.models.get(name)
            if workload in INTERACTIVE_WORKLOADS and routed is not None and routed.on_demand:
                raise ValueError(
                    f"workloads.{workload}: {name} starts on demand; a caller cannot wait for it"
                )
        return self

    def route(self, workload: str) -> str:
        """The served model that answers ``workload``."""
        return self.workloads.get(workload, self.model)


class SpeechSettings(EngineSection):
    model: str = Field("base", description='"base", "tiny.en", a CTranslate2 folder, or a hub id.')
    device: Device = Field("auto", description="auto: cuda if present.")
    compute_type: str = Field("auto", description="auto: float16 on cuda, int8 on cpu.")
    beam_size: int = Field(5, ge=1, description="Beam search width.")
    max_concurrency: int = Field(
        2,
        ge=1,
        description="Transcriptions at once per model, each on its own share of the cores"
        " (concurrent calls' turns do not queue behind each other).",
    )
    vad: bool = Field(True, description="Skip silence with Silero VAD.")
    call_model: str = Field(
        "", description='Model for live calls, e.g. "tiny.en" (faster, English only); empty: model.'
    )
    call_beam_size: int = Field(1, ge=1, description="Beam width in live calls (1: greedy).")
    call_short_window: bool = Field(
        True,
        description="Live calls: encode the utterance plus 2 s, not Whisper's 30 s window"
        " (several times faster with base; tiny.en repeats itself in short windows).",
    )
    digits_window_s: float = Field(
        20.0,
        ge=0,
        le=30,
        description="Live calls: an utterance that reads out a number is heard again, digit by"
        " digit, over a window this long (seconds); 0: never.",
    )


class TtsSettings(EngineSection):
    voices: dict[str, str] = Field(
        {"en_US": "bundled"},
        description='Per locale: "bundled" (en_US joe) or the path of a Piper .onnx voice.',
    )
    device: Device = Field("auto", description="cuda: onnxruntime CUDA.")
    noise_scale: float | None = Field(
        None,
        ge=0,
        description="Piper's voice variation; unset: each voice's own. 0 (with noise_w 0):"
        " the same audio for the same text every time.",
    )
    noise_w: float | None = Field(
        None, ge=0, description="Piper's variation of phoneme lengths; unset: each voice's own."
    )


@dataclass(frozen=True)
class EngineSettings:
    """Everything the engines are built from; folders are absolute."""

    models_dir: Path  # prepared models (`models prepare`)
    vllm_python: Path  # the Python of the vLLM environment (.venv-vllm)
    logs_dir: Path  # the embedded vLLM server's log
    chat: ChatSettings = field(default_factory=ChatSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
