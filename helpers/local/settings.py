"""Settings of the local host: environment variables ``LOCAL_*`` and the matching ``serve`` flags.

Every setting can be given as an environment variable or, for ``python -m helpers serve``, as
a flag (the flag wins). Unset means the default in brackets.

=========================  =========================  ==================================================
variable                   flag                       meaning
=========================  =========================  ==================================================
LOCAL_HOST                 --host                     address to bind [127.0.0.1]; any other than
                                                      loopback needs a key or LOCAL_ALLOW_PUBLIC
LOCAL_PORT                 --port                     port of ``serve`` [8000]; the background server
                                                      picks a free port
LOCAL_API_KEY              (none: never in argv)      key the clients must send as ``api-key`` or
                                                      ``Authorization: Bearer`` [none: no auth]
LOCAL_API_KEY_FILE         --api-key-file             a file whose first line is that key, instead
                                                      of LOCAL_API_KEY (not both); the flag wins over
                                                      both variables [none]
LOCAL_ALLOW_PUBLIC         --allow-public             let a non-loopback --host serve without a key
                                                      [off: refused]
LOCAL_DEPLOYMENTS          --deployments              comma-separated names accepted as model or
                                                      deployment [any name is accepted]
LOCAL_RPM                  --rpm                      requests allowed per deployment per window [off]
LOCAL_TPM                  --tpm                      tokens (prompt + max_tokens) per deployment per
                                                      window [off]
LOCAL_RATE_WINDOW          --rate-window              length of the sliding rate window in seconds [60]
LOCAL_FAULT_EVERY          --fault-every              every Nth new API request fails on purpose; a
                                                      client's retry of a request is let through [off]
LOCAL_FAULT_STATUS         --fault-status             status of an injected fault: 429, 500 or 503 [429]
LOCAL_FAULT_RETRY_AFTER_MS --fault-retry-after-ms     retry-after-ms sent with an injected 429 [100]
LOCAL_LATENCY_MS           --latency-ms               latency added to every API request [0]
LOCAL_STREAM_DELAY_MS      --stream-delay-ms          pause between the chunks of a streamed reply, so a
                                                      reader sees it arrive; replies not streamed are
                                                      never delayed [25 for ``serve`` and ``connect()``;
                                                      0 in ``Settings()``, as tests and benchmarks use]
LOCAL_MAX_IMAGES           --max-images               images allowed per request [50]
LOCAL_MAX_IMAGE_MB         --max-image-mb             bytes allowed per image, in MB [20]
LOCAL_MAX_BODY_MB          --max-body-mb              bytes allowed per request body, in MB; a larger
                                                      body is a 413, refused before it is read [64]
LOCAL_IMAGE_URL_ALLOW      --image-url-allow          comma-separated host patterns (fnmatch) whose
                                                      http(s) image URLs may be fetched; loopback is
                                                      always allowed [none]
LOCAL_WHISPER_MODEL        --whisper-model            faster-whisper model: a directory or a model name
                                                      [multilingual Whisper base, from its packages]
LOCAL_PRELOAD              --preload                  load OCR and speech models at start [off: lazily]
LOCAL_LOG_LEVEL            --log-level                uvicorn log level [warning]
LOCAL_DATA_DIR             --data-dir                 folder of the Files and Batches APIs' files and
                                                      batches, kept across restarts
                                                      [$XDG_CACHE_HOME/multimodal-workbook/local-host,
                                                      ~/.cache/... when XDG_CACHE_HOME is unset]
=========================  =========================  ==================================================

There is no ``--api-key`` flag: a key in the command line is visible to every user of the machine
(``ps``) and kept in the shell history, so ``serve --api-key K`` fails and says what to use instead.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from ..errors import SettingsError
from ..limits import MAX_IMAGE_BYTES, MB

#: The id of the local model in GET /v1/models and in every response's ``model``.
MODEL_ID = "local-multimodal"
FAULT_STATUSES = (429, 500, 503)
#: The pause between streamed chunks when a person is reading (``serve`` and ``connect()``): about
#: 40 chunks a second, slow enough to see a reply arrive, quick enough not to wait for it.
INTERACTIVE_STREAM_DELAY_MS = 25
#: Images per chat request: Azure documents 10 in one place and 50 in its quota table.
MAX_IMAGES_PER_REQUEST = 50


@dataclass(frozen=True)
class Settings:
    """What the local host does; see the module docstring for the matching variables and flags."""

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    allow_public: bool = False
    deployments: tuple[str, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    rate_window: float = 60.0
    fault_every: int | None = None
    fault_status: int = 429
    fault_retry_after_ms: int = 100
    latency_ms: int = 0
    stream_delay_ms: int = 0
    max_images: int = MAX_IMAGES_PER_REQUEST
    max_image_mb: float = MAX_IMAGE_BYTES / MB
    max_body_mb: float = 64.0
    image_url_allow: tuple[str, ...] = ()
    whisper_model: str | None = None
    preload: bool = False
    log_level: str = "warning"
    data_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm", "fault_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SettingsError(
                    f"LOCAL_{name.upper()}={value} must be at least 1 (or unset to turn it off)."
                )
        if self.fault_status not in FAULT_STATUSES:
            raise SettingsError(
                f"LOCAL_FAULT_STATUS={self.fault_status} is not one of {', '.join(map(str, FAULT_STATUSES))}."
            )
        if not (self.rate_window > 0 and math.isfinite(self.rate_window)):
            raise SettingsError(f"LOCAL_RATE_WINDOW={self.rate_window} must be a number of seconds above 0.")
        if self.max_images < 1 or self.max_image_mb <= 0:
            raise SettingsError("LOCAL_MAX_IMAGES and LOCAL_MAX_IMAGE_MB must be above 0.")
        if not (self.max_body_mb > 0 and math.isfinite(self.max_body_mb)):
            raise SettingsError(f"LOCAL_MAX_BODY_MB={self.max_body_mb} must be a number of MB above 0.")
        if self.latency_ms < 0 or self.fault_retry_after_ms < 0 or self.stream_delay_ms < 0:
            raise SettingsError("LOCAL_LATENCY_MS and LOCAL_FAULT_RETRY_AFTER_MS must be 0 or more.")

    def __repr__(self) -> str:
        # Never show the key: settings get printed and logged.
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["api_key"] = "***" if self.api_key else None
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    @property
    def max_image_bytes(self) -> int:
        """The byte limit of one image."""
        return int(self.max_image_mb * MB)

    @property
    def storage_dir(self) -> Path:
        """Where the Files and Batches APIs keep their files: LOCAL_DATA_DIR, else a folder in the user cache."""
        if self.data_dir:
            return Path(self.data_dir).expanduser()
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(cache) / "multimodal-workbook" / "local-host"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``LOCAL_*`` variables (``os.environ`` by default); the key from LOCAL_API_KEY
        or the file named by LOCAL_API_KEY_FILE (SettingsError when both are set or the file is unusable)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in _SPECS:
            raw = env.get(spec.env)
            if raw is not None and raw.strip() != "":
                values[spec.name] = spec.parse(raw.strip(), spec.env)
        values["api_key"] = api_key_from_env(env)
        values.pop("api_key_file", None)
        return cls(**values)  # type: ignore[arg-type]

    def with_args(self, args: argparse.Namespace) -> Settings:
        """A copy with the flags that were given on the command line; ``--api-key-file`` is read here."""
        given = {
            spec.name: getattr(args, spec.name)
            for spec in _SPECS
            if getattr(args, spec.name, None) is not None
        }
        if "api_key_file" in given:
            given["api_key"] = read_key_file(str(given.pop("api_key_file")), "--api-key-file")
        return replace(self, **given)


def api_key_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The key of LOCAL_API_KEY, or the first line of the file LOCAL_API_KEY_FILE names, or None."""
    env = os.environ if environ is None else environ
    key = env.get("LOCAL_API_KEY", "").strip() or None
    path = env.get("LOCAL_API_KEY_FILE", "").strip() or None
    if key and path:
        raise SettingsError(
            "LOCAL_API_KEY and LOCAL_API_KEY_FILE are both set; keep one of them "
            "(the key itself, or the path of a file whose first line is the key)."
        )
    return read_key_file(path, "LOCAL_API_KEY_FILE") if path else key


def read_key_file(path: str, where: str) -> str:
    """The first line of the file at ``path``, stripped; ``where`` (the variable or flag) names it in errors.

    The key itself never appears in a message.
    """
    fix = "give the path of a readable text file whose first line is the key"
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{where}={path!r}: no such file; {fix}.") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{where}={path!r}: not UTF-8 text; {fix}.") from None
    except OSError as exc:
        raise SettingsError(f"{where}={path!r}: cannot read it ({exc.strerror}); {fix}.") from None
    lines = text.splitlines()
    key = lines[0].strip() if lines else ""
    if not key:
        raise SettingsError(f"{where}={path!r}: the first line of the file is empty; put the key there.")
    return key


@dataclass(frozen=True)
class _Spec:
    name: str
    kind: str  # str, int, float, list, bool
    help: str = ""
    has_flag: bool = True  # False: a variable only (the key, which must not be in argv)

    @property
    def env(self) -> str:
        return "LOCAL_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def argument_type(self, raw: str) -> object:
        """argparse ``type=``: a bad value becomes argparse's usage error (exit code 2)."""
        try:
            return self.parse(raw, self.flag)
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    def parse(self, raw: str, where: str) -> object:
        try:
            if self.kind == "int":
                return int(raw)
            if self.kind == "float":
                return float(raw)
        except ValueError:
            raise SettingsError(f"{where}={raw!r} is not a number; give a {self.kind}.") from None
        if self.kind == "list":
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        if self.kind == "bool":
            return raw.lower() in ("1", "true", "yes", "on")
        return raw


_SPECS = (
    _Spec(
        "host", "str", "address to bind (default 127.0.0.1); a non-loopback one needs a key or --allow-public"
    ),
    _Spec("port", "int", "port to listen on (default 8000)"),
    _Spec("api_key", "str", has_flag=False),  # read by api_key_from_env, with LOCAL_API_KEY_FILE
    _Spec(
        "api_key_file",
        "str",
        "a file whose first line is the key clients must send as api-key or Authorization: Bearer "
        "(default: LOCAL_API_KEY, else no key)",
    ),
    _Spec("allow_public", "bool", "let a non-loopback --host serve without a key (default: refused)"),
    _Spec("deployments", "list", "comma-separated model/deployment names to accept (default: any)"),
    _Spec("rpm", "int", "requests allowed per deployment per rate window (default: no limit)"),
    _Spec("tpm", "int", "tokens (prompt + max_tokens) per deployment per rate window (default: no limit)"),
    _Spec("rate_window", "float", "length of the sliding rate window in seconds (default 60)"),
    _Spec("fault_every", "int", "fail every Nth new API request on purpose; retries pass (default: never)"),
    _Spec("fault_status", "int", "status of an injected fault: 429, 500 or 503 (default 429)"),
    _Spec("fault_retry_after_ms", "int", "retry-after-ms sent with an injected 429 (default 100)"),
    _Spec("latency_ms", "int", "latency added to every API request (default 0)"),
    _Spec(
        "stream_delay_ms",
        "int",
        f"pause between streamed chunks, so a reader sees the reply arrive (default {INTERACTIVE_STREAM_DELAY_MS})",
    ),
    _Spec("max_images", "int", "images allowed per request (default 50)"),
    _Spec("max_image_mb", "float", "size allowed per image in MB (default 20)"),
    _Spec("max_body_mb", "float", "size allowed per request body in MB; larger is a 413 (default 64)"),
    _Spec(
        "image_url_allow",
        "list",
        "comma-separated host patterns whose image URLs may be fetched (loopback always may; default: none)",
    ),
    _Spec(
        "whisper_model",
        "str",
        "faster-whisper model directory or name (default: multilingual Whisper base, from its packages)",
    ),
    _Spec("preload", "bool", "load the OCR and speech models at start instead of on first use"),
    _Spec("log_level", "str", "uvicorn log level (default warning)"),
    _Spec(
        "data_dir",
        "str",
        "folder of the Files and Batches APIs' data, kept across restarts "
        "(default ~/.cache/multimodal-workbook/local-host)",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; each defaults to None so that unset flags keep the env value.

    ``--api-key`` is added only to fail with the reason and what to use instead (LOCAL_API_KEY or
    ``--api-key-file``); without it argparse would take ``--api-key`` as an abbreviation of
    ``--api-key-file``.
    """
    parser.add_argument("--api-key", nargs="?", action=_RefuseKeyInArgv, help=argparse.SUPPRESS)
    for spec in _SPECS:
        if not spec.has_flag:
            continue
        help_text = f"{spec.help} [env {spec.env}]"
        if spec.kind == "bool":
            parser.add_argument(
                spec.flag, dest=spec.name, action="store_const", const=True, default=None, help=help_text
            )
            continue
        parser.add_argument(
            spec.flag,
            dest=spec.name,
            default=None,
            metavar=spec.name.upper(),
            help=help_text,
            type=spec.argument_type,
        )


#: Why ``serve --api-key K`` fails, and what to use instead.
KEY_IN_ARGV = (
    "--api-key is not accepted: a key on the command line is visible to every user of this machine "
    "(ps) and is kept in the shell history. Set LOCAL_API_KEY in the environment or in .env, or pass "
    "--api-key-file PATH (a file whose first line is the key)."
)


class _RefuseKeyInArgv(argparse.Action):
    """``--api-key``: a usage error (exit code 2) that never repeats the value given."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        parser.error(KEY_IN_ARGV)


def for_reading(settings: Settings, delay_given: bool) -> Settings:
    """``settings`` with the interactive stream pacing, unless a stream delay was given."""
    return settings if delay_given else replace(settings, stream_delay_ms=INTERACTIVE_STREAM_DELAY_MS)
