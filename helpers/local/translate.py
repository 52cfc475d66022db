"""Translation of the local model: Apertium, the rule-based translator, run as a subprocess.

Apertium is a Debian package; the installed pairs come from ``apertium -l``. A missing program or
pair raises :class:`~.engines.Missing` with the command that installs it.
"""

from __future__ import annotations

import shutil
import subprocess
import threading

from .engines import LruCache, Missing

APERTIUM_INSTALL = "sudo apt-get install apertium apertium-eng-spa"


_pairs_lock = threading.Lock()
_pairs: list[tuple[str, ...]] = []
_translations = LruCache(512)


def apertium_pairs() -> tuple[str, ...]:
    """Installed Apertium modes (``apertium -l``), e.g. ('eng-spa', 'spa-eng'); raises Missing."""
    with _pairs_lock:
        if not _pairs:
            exe = shutil.which("apertium")
            if exe is None:
                raise Missing(
                    f"Translation is not available: Apertium is not installed. "
                    f"Install it with: {APERTIUM_INSTALL}"
                )
            listed = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=30, check=False)
            _pairs.append(tuple(sorted(line.strip() for line in listed.stdout.splitlines() if line.strip())))
        return _pairs[0]


def translate(text: str, pair: str) -> str:
    """Translate ``text`` with the Apertium mode ``pair`` (e.g. 'eng-spa'); raises Missing."""
    if not text.strip():
        return ""
    pairs = apertium_pairs()
    if pair not in pairs:
        src, _, tgt = pair.partition("-")
        raise Missing(
            f"Translation {pair} is not available: the Apertium pair is not installed (installed: "
            f"{', '.join(pairs) or 'none'}). Install it with: sudo apt-get install apertium-{src}-{tgt} "
            "(find the package name with: apt-cache search apertium)"
        )
    key = (pair, text)
    cached = _translations.get(key)
    if cached is None:
        done = subprocess.run(
            [shutil.which("apertium") or "apertium", "-u", pair],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise Missing(
                f"Translation {pair} failed (apertium exited with {done.returncode}). "
                f"Reinstall it with: {APERTIUM_INSTALL}"
            )
        cached = done.stdout.strip()
        _translations.put(key, cached)
    return cached
