"""Execute notebooks headless (the main job, ``python -m helpers run``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

#: Seconds one cell may run before the run fails (a hung cell must not hang CI).
CELL_TIMEOUT = 300


@dataclass(frozen=True)
class RunResult:
    """How one notebook run ended."""

    notebook: Path
    ok: bool
    seconds: float
    error: str = ""


def run_notebook(path: Path, out_dir: Path, timeout: int = CELL_TIMEOUT) -> RunResult:
    """Execute ``path`` in its own folder with the python3 kernel; write the executed copy to ``out_dir``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        # The kernel warns on stderr that loopback TCP is unencrypted; the kernel only listens on loopback.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    except CellTimeoutError:
        error = f"a cell ran longer than {timeout} s"
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out_dir / path.name)
    return RunResult(path, not error, seconds, error)


def run_all(paths: list[Path], out_dir: Path) -> list[RunResult]:
    """Run each notebook in turn, printing one line per notebook as it finishes."""
    results = []
    for path in paths:
        result = run_notebook(path, out_dir)
        status = "ok  " if result.ok else "FAIL"
        print(f"{status} {path.name:<28} {result.seconds:6.1f} s  {result.error}".rstrip(), flush=True)
        results.append(result)
    return results
