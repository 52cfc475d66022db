"""The command line: tokens, pdf2img, run (the headless main job)."""

import argparse
import re
import subprocess
import sys
from types import SimpleNamespace

import nbformat
import pymupdf
import pytest

from helpers.__main__ import _parser, main
from helpers.local.settings import add_arguments


def test_tokens_prints_the_estimate(capsys):
    assert main(["tokens", "2048", "4096", "--detail", "high"]) == 0
    assert capsys.readouterr().out == "1105\n"


def test_errors_exit_2_with_the_message(capsys):
    assert main(["tokens", "10", "10", "--model", "llava"]) == 2
    assert capsys.readouterr().err.startswith("error: No image token formula is known for model 'llava'.")


def test_pdf2img_writes_pages(tmp_path, capsys):
    doc = pymupdf.open()
    for _ in range(3):
        doc.new_page(width=100, height=100)
    doc.save(tmp_path / "three.pdf")
    assert (
        main(
            [
                "pdf2img",
                str(tmp_path / "three.pdf"),
                "--pages",
                "2-3",
                "--dpi",
                "72",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["three-page2.png", "three-page3.png"]
    assert capsys.readouterr().out.splitlines() == [
        str(tmp_path / "o" / f"three-page{n}.png") for n in (2, 3)
    ]


def test_run_executes_notebooks_and_reports_each(tmp_path):
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]), good)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")]), bad)
    out = tmp_path / "build"
    result = subprocess.run(
        [sys.executable, "-m", "helpers", "run", str(good), str(bad), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert re.fullmatch(r"ok   good\.ipynb\s+\d+\.\d s", lines[0])
    assert re.fullmatch(r"FAIL bad\.ipynb\s+\d+\.\d s  ZeroDivisionError: division by zero", lines[1])
    assert lines[2] == f"1 of 2 notebooks ran; executed copies in {out}/"
    executed = nbformat.read(out / "good.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42\n"


def test_run_names_a_missing_notebook(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.ipynb")]) == 2
    assert capsys.readouterr().err == f"No such notebook: {tmp_path / 'none.ipynb'}\n"


class FakeHost:
    """Stands in for connect(): records the messages and streams back one reply."""

    model = "fake-model"

    def __init__(self):
        self.messages = []
        self.client = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=self.create)))

    def create(self, model, messages, stream):
        self.messages = messages
        delta = SimpleNamespace(content="Two pages.")
        return [SimpleNamespace(choices=[SimpleNamespace(delta=delta)])]


def test_ask_refuses_a_long_pdf_and_sends_the_pages_picked(tmp_path, capsys, monkeypatch):
    doc = pymupdf.open()
    for _ in range(30):
        doc.new_page(width=100, height=100)
    doc.save(tmp_path / "thirty.pdf")
    host = FakeHost()
    monkeypatch.setattr("helpers.hosts.connect", lambda name: host)
    assert main(["ask", "What is it?", str(tmp_path / "thirty.pdf")]) == 2
    assert capsys.readouterr().err == (
        "error: 'thirty.pdf' has 30 pages, more than max_pages=20 (each page is sent as one image). "
        "Choose the pages to send, e.g. pages='1-5', or raise max_pages.\n"
    )
    assert host.messages == []
    assert main(["ask", "What is it?", str(tmp_path / "thirty.pdf"), "--pages", "2-3"]) == 0
    assert capsys.readouterr().out == "Two pages.\n"
    content = host.messages[0]["content"]
    assert [part["type"] for part in content] == ["text", "image_url", "image_url"]
    assert main(["ask", "What is it?", str(tmp_path / "thirty.pdf"), "--max-pages", "30"]) == 0
    assert len(host.messages[0]["content"]) == 31


def _actions(parser: argparse.ArgumentParser, name: str) -> list[tuple[str, str, str | None]]:
    """(command, option or argument, help) of every action of ``parser`` and its subcommands."""
    found = []
    for action in parser._actions:
        label = "/".join(action.option_strings) or action.dest
        found.append((name, label, action.help))
        if isinstance(action, argparse._SubParsersAction):
            found += [(name, choice.dest, choice.help) for choice in action._choices_actions]
            for command, sub in action.choices.items():
                found += _actions(sub, f"{name} {command}")
    return found


def test_every_option_has_help():
    serve = argparse.ArgumentParser()
    add_arguments(serve)  # serve_cli's options: one per _SPECS row of helpers/local/settings.py
    actions = _actions(_parser(), "python -m helpers") + _actions(serve, "serve")
    assert len(actions) > 40
    assert [a for a in actions if not (a[2] or "").strip()] == []
    # the one hidden option: --api-key, which only says why a key does not belong in argv
    assert [a[:2] for a in actions if a[2] == argparse.SUPPRESS] == [("serve", "--api-key")]


@pytest.mark.parametrize("command", [[], ["run"], ["ask"], ["pdf2img"], ["tokens"], ["serve"]])
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m helpers")
