"""Command line: ``python -m helpers serve | run | ask | pdf2img | tokens`` (also the ``workbook`` script)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import WorkbookError
from .limits import MAX_PDF_PAGES
from .tokens import DEFAULT_TOKEN_MODEL


def _run(args: argparse.Namespace) -> int:
    from .notebooks import run_all

    paths = [Path(p) for p in args.notebooks] or sorted(Path("notebooks").glob("*.ipynb"))
    if not paths:
        print("No notebooks found: run from the repository root or name the notebooks.", file=sys.stderr)
        return 2
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"No such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    results = run_all(paths, Path(args.out))
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} of {len(results)} notebooks ran; executed copies in {args.out}/")
    return 1 if failed else 0


def _ask(args: argparse.Namespace) -> int:
    from .hosts import connect
    from .parts import chat_message
    from .prepare import prepare_file

    files = [
        part
        for f in args.files
        for part in prepare_file(f, args.detail, pages=args.pages, max_pages=args.max_pages)
    ]
    host = connect(args.host)
    stream = host.client.chat.completions.create(
        model=host.model, messages=[chat_message(args.question, *files, detail=args.detail)], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
    print()
    return 0


def _pdf2img(args: argparse.Namespace) -> int:
    from .pdf import pdf_pages

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pages = pdf_pages(
        args.pdf,
        dpi=args.dpi,
        pages=args.pages,
        fmt=args.fmt,
        password=args.password,
        workers=args.workers,
        progress=False,
    )
    for page in pages:
        (out / str(page.name)).write_bytes(page.content_bytes())
        print(out / str(page.name))
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from .tokens import image_tokens

    print(image_tokens(args.width, args.height, args.detail, args.model))
    return 0


def _parser() -> argparse.ArgumentParser:
    """The parser of every command but ``serve`` (parsed by :func:`helpers.local.server.serve_cli`)."""
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.replace("``", ""))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="one of:")
    sub.add_parser("serve", help="run the local host in the foreground (see: serve --help)")
    run = sub.add_parser("run", help="execute every notebook headless; executed copies go to build/")
    run.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    run.add_argument("--out", default="build", help="folder for the executed copies (default: build)")
    ask = sub.add_parser("ask", help="ask the configured host a question about files and stream the reply")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("files", nargs="*", help="images, PDFs or audio clips")
    ask.add_argument(
        "--detail", default="auto", choices=["auto", "low", "high"], help="image detail (default auto)"
    )
    ask.add_argument("--pages", default=None, help="PDF pages to send, e.g. 1-5 or 1,3 (default: all)")
    ask.add_argument(
        "--max-pages",
        type=int,
        default=MAX_PDF_PAGES,
        help=f"most pages sent of one PDF; more is an error (default {MAX_PDF_PAGES})",
    )
    ask.add_argument("--host", default=None, help="the host to ask; overrides API_HOST (default: API_HOST)")
    pdf = sub.add_parser("pdf2img", help="render PDF pages to image files")
    pdf.add_argument("pdf", help="the PDF file")
    pdf.add_argument("--dpi", type=int, default=150, help="resolution of the images (default 150)")
    pdf.add_argument("--pages", default=None, help="e.g. 1-3,7 (default: all)")
    pdf.add_argument("--fmt", default="png", choices=["png", "jpeg"], help="image format (default png)")
    pdf.add_argument("--password", default=None, help="password of an encrypted PDF")
    pdf.add_argument("--workers", type=int, default=1, help="pages rendered at once (default 1)")
    pdf.add_argument("--out", default="build/pages", help="folder for the images (default build/pages)")
    tok = sub.add_parser("tokens", help="estimated input tokens of one image")
    tok.add_argument("width", type=int, help="image width in pixels")
    tok.add_argument("height", type=int, help="image height in pixels")
    tok.add_argument(
        "--detail", default="auto", choices=["auto", "low", "high"], help="image detail (default auto)"
    )
    tok.add_argument(
        "--model",
        default=DEFAULT_TOKEN_MODEL,
        help=f"model family of the formula (default {DEFAULT_TOKEN_MODEL})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m helpers`` and the ``workbook`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        from .local.server import serve_cli

        return serve_cli(argv[1:])
    args = _parser().parse_args(argv)
    handlers = {"run": _run, "ask": _ask, "pdf2img": _pdf2img, "tokens": _tokens}
    try:
        return handlers[args.command](args)
    except WorkbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
