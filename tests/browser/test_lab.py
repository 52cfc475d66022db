"""The notebooks as a learner sees them: JupyterLab in Chromium, cells run from the menu, the chat
panel used with the mouse and the file chooser."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, screenshot_path

NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))

# A widget output whose model the browser cannot find (no widget state stored, or an untrusted notebook)
# is drawn as its text/plain repr: "VBox(children=(...", "FloatProgress(value=0.0, ...", ...
RAW_REPR = re.compile(r"\b[A-Z][A-Za-z]*\((?:children|value|layout|description|outputs|bar_style|max)=")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

QUESTION_PLACEHOLDER = "Ask about the attached file..."
RUN_ALL_TIMEOUT_MS = 300_000  # how long to wait for Run All (OCR, speech) on a busy two-core machine
REPLY_TIMEOUT_MS = 120_000
#: Bubbles the chat_app notebook's demo cells leave on the panel (four questions and their answers).
DEMO = 8


def stored_outputs(notebook: dict) -> list[list[dict]]:
    """Each code cell's outputs as JupyterLab shows them: consecutive streams of one name merged."""
    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        merged: list[dict] = []
        for output in cell.get("outputs", []):
            if (
                merged
                and output["output_type"] == "stream"
                and merged[-1]["output_type"] == "stream"
                and merged[-1]["name"] == output["name"]
            ):
                continue
            merged.append(output)
        cells.append(merged)
    return cells


def open_notebook(page, lab, name: str, workspace: str) -> dict:
    """Open notebooks/<name> and wait until every cell and stored output is drawn; return its JSON."""
    notebook = json.loads((lab.root / "notebooks" / name).read_text())
    page.goto(lab.notebook_url(f"notebooks/{name}", workspace))
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(notebook["cells"]), timeout=60_000)
    outputs = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-child")
    expect(outputs).to_have_count(sum(len(o) for o in stored_outputs(notebook)))
    expect(page.locator(".jp-Notebook")).not_to_contain_text("Loading widget")
    return notebook


def menu(page, top: str, item: str) -> None:
    """Choose ``top`` → ``item`` from JupyterLab's menu bar."""
    page.locator(".lm-MenuBar").get_by_role("menuitem", name=top, exact=True).click()
    page.locator(".lm-Menu").get_by_role("menuitem", name=item, exact=True).click()


def run_all(page, prompts) -> None:
    """Run → Run All Cells, chosen again if no cell was queued: once, on a loaded machine, the menu
    click left every prompt at [ ] (cause not found; running the cells twice would do no harm here)."""
    started = prompts.filter(has_text=re.compile(r"\[(\*|\d+)\]"))
    for attempt in range(3):
        menu(page, "Run", "Run All Cells")
        try:
            expect(started).not_to_have_count(0, timeout=15_000)
            return
        except AssertionError:
            print(f"Run All Cells queued nothing (attempt {attempt + 1}); choosing it again", file=sys.stderr)
            page.keyboard.press("Escape")  # close a menu left open
    pytest.fail("Run → Run All Cells queued no cell, three times")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_stored_notebook_shows_no_raw_widget_repr(lab, page, name):
    """Opened as stored (not run), no output is a widget's raw repr or its text fallback."""
    assert (lab.root / "notebooks" / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    notebook = open_notebook(page, lab, name, workspace=f"stored-{Path(name).stem}")
    shown = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output")
    texts = shown.all_inner_texts()
    problems = [text.strip()[:120] for text in texts if RAW_REPR.search(text)]
    # The text/plain of each stored widget view is what the browser shows when the widget can't be drawn
    # (a tqdm bar then shows as a frozen "0%|          | 0/4" line).
    fallbacks = [
        "".join(output["data"].get("text/plain", "")).strip()
        for cell in stored_outputs(notebook)
        for output in cell
        if WIDGET_VIEW in output.get("data", {})
    ]
    problems += [
        text.strip()[:120] for text in texts for fallback in fallbacks if fallback and fallback in text
    ]
    if problems:  # show the first one in the screenshot the failure leaves in build/
        shown.filter(has_text=problems[0][:40]).first.scroll_into_view_if_needed()
    assert not problems, f"{name} shows widget reprs instead of widgets: {sorted(set(problems))}"


def test_chat_panel_attach_ask_stream_and_clear(lab, page):
    """Run All, then use the panel: attach a receipt with the file chooser, ask, watch the reply stream in
    with Send disabled, ask a long follow-up, and clear the history."""
    open_notebook(page, lab, "chat_app.ipynb", workspace="chat-panel")
    indicator = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator")
    expect(indicator).to_have_attribute("data-status", "idle", timeout=60_000)

    # Clear the stored outputs first, so "every prompt numbered" can only mean "this run finished".
    prompts = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt")
    menu(page, "Edit", "Clear Outputs of All Cells")
    expect(prompts.first).to_have_text("[ ]:")
    run_all(page, prompts)
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
        }""",
        timeout=RUN_ALL_TIMEOUT_MS,
    )
    expect(indicator).to_have_attribute("data-status", "idle", timeout=RUN_ALL_TIMEOUT_MS)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert not [t for t in errors.all_inner_texts() if "Traceback" in t]

    panel = page.locator(".jp-OutputArea-output .widget-vbox").filter(
        has=page.get_by_placeholder(QUESTION_PLACEHOLDER)
    )
    expect(panel).to_have_count(1)
    history = panel.locator(":scope > *").first  # the panel's first child holds the conversation
    bubbles = history.locator(".widget-html")
    expect(bubbles).to_have_count(DEMO)  # the demo cells' conversation stays on the panel
    attach = panel.locator(".widget-upload")
    question = panel.get_by_placeholder(QUESTION_PLACEHOLDER)
    # (the accessible names start with the icon font's glyph)
    send = panel.get_by_role("button", name=re.compile(r"Send$"))
    clear = panel.get_by_role("button", name=re.compile(r"Clear history$"))

    # Attach through the file chooser, ask, press Send.
    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files(lab.root / "data" / "receipt.png")
    expect(attach).to_have_text("Attach (1)")
    question.fill("What is the total on this receipt?")
    # Record the newest bubble and the Send button on every change of the history, to see the reply
    # arrive chunk by chunk and what Send looked like meanwhile.
    history.evaluate(
        """(history, send) => {
            window.chatSnapshots = [];
            new MutationObserver(() => {
                const pre = [...history.querySelectorAll('.widget-html pre')].pop();
                window.chatSnapshots.push({
                    bubbles: history.querySelectorAll('.widget-html').length,
                    text: pre ? pre.textContent : null,
                    sendDisabled: send.disabled,
                });
            }).observe(history, {subtree: true, childList: true, characterData: true});
        }""",
        send.element_handle(),
    )
    send.click()
    expect(bubbles).to_have_count(DEMO + 2)
    expect(bubbles.nth(DEMO)).to_contain_text("What is the total on this receipt?\n[attached: receipt.png]")
    expect(bubbles.nth(DEMO + 1)).to_contain_text("TOTAL: $21.50", timeout=REPLY_TIMEOUT_MS)
    expect(send).to_be_enabled(timeout=REPLY_TIMEOUT_MS)
    answer = bubbles.nth(DEMO + 1).locator("pre").text_content()
    assert answer.splitlines()[0] == "TOTAL: $21.50"
    snapshots = page.evaluate("window.chatSnapshots")
    partial = [
        s
        for s in snapshots
        if s["bubbles"] == DEMO + 2
        and s["text"] not in (None, "...", answer)
        and answer.startswith(s["text"])
    ]
    assert partial, f"the reply did not stream in chunks: {snapshots}"
    assert all(s["sendDisabled"] for s in partial), f"Send was enabled while the reply streamed: {partial}"
    expect(question).to_have_value("")
    expect(attach).to_have_text("Attach (0)")
    panel.evaluate("panel => panel.scrollIntoView({block: 'start'})")
    page.screenshot(path=screenshot_path("chat-panel-answer"))

    # A long reply (every line of a four-page PDF) must not push the question box and Send off the
    # screen, and its end must be in sight without scrolling.
    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files(lab.root / "data" / "report.pdf")
    expect(attach).to_have_text("Attach (1)")
    question.fill("Read all the text in this report.")
    send.click()
    expect(bubbles).to_have_count(DEMO + 4)
    expect(bubbles.nth(DEMO + 3)).to_contain_text("Page 4 of 4", timeout=REPLY_TIMEOUT_MS)
    expect(send).to_be_enabled(timeout=REPLY_TIMEOUT_MS)
    panel.evaluate("panel => panel.scrollIntoView({block: 'start'})")
    expect(question).to_be_in_viewport()
    expect(send).to_be_in_viewport()
    newest = history.evaluate(
        """history => {
            const last = [...history.querySelectorAll('.widget-html')].pop();
            let top = 0, bottom = window.innerHeight;
            for (let e = last.parentElement; e && e !== document.body; e = e.parentElement) {
                if (getComputedStyle(e).overflowY !== 'visible') {
                    const box = e.getBoundingClientRect();
                    top = Math.max(top, box.top);
                    bottom = Math.min(bottom, box.bottom);
                }
            }
            const box = last.getBoundingClientRect();
            return {bottom: box.bottom, visibleTop: top, visibleBottom: bottom};
        }"""
    )
    assert newest["visibleTop"] < newest["bottom"] <= newest["visibleBottom"] + 1, newest
    page.screenshot(path=screenshot_path("chat-panel-long-reply"))

    clear.click()
    expect(bubbles).to_have_count(0)
    page.screenshot(path=screenshot_path("chat-panel-cleared"))
