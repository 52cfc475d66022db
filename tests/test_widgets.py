"""The chat panel's callbacks, driven without a browser against the local host."""

from __future__ import annotations

import datetime

import pytest

from helpers import connect
from helpers.widgets import HISTORY_MAX_HEIGHT, ChatPanel

from .conftest import image_bytes


@pytest.fixture(scope="module")
def host(monkeypatch_module):
    monkeypatch_module.setenv("API_HOST", "local")
    monkeypatch_module.delenv("LOCAL_ENDPOINT", raising=False)
    return connect()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def upload(panel: ChatPanel, name: str, content: bytes) -> None:
    """Set the FileUpload value as the browser does after a pick."""
    panel.upload.value = (
        {
            "name": name,
            "type": "",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
        },
    )


def test_send_with_an_uploaded_clip_streams_the_reply_and_clears_the_inputs(host, hello_wav_path):
    panel = ChatPanel(host)
    upload(panel, "hello.wav", hello_wav_path.read_bytes())
    panel.question.value = "Please translate this audio snippet to spanish."
    panel.send.click()
    assert panel.status.value == ""
    assert [m["role"] for m in panel.messages] == ["user", "assistant"]
    assert "Hola" in panel.messages[1]["content"]
    you, reply = panel.history.children
    assert "Please translate this audio snippet to spanish.\n[attached: hello.wav]" in you.value
    assert "Hola" in reply.value and "Assistant" in reply.value
    assert panel.question.value == "" and panel.upload.value == ()
    assert not panel.send.disabled


def test_follow_up_keeps_earlier_turns_and_clear_forgets_them(host):
    panel = ChatPanel(host, system="Be brief.")
    panel.ask("What is in this picture?", image_bytes("PNG", (40, 30), "blue"))
    sent: list[list[dict]] = []
    create = host.client.chat.completions.create

    def spy(**kwargs):
        sent.append(kwargs["messages"])
        return create(**kwargs)

    host.client.chat.completions.create = spy
    try:
        panel.question.value = "And its size?"
        panel.send.click()
    finally:
        del host.client.chat.completions.create
    assert [m["role"] for m in sent[0]] == ["system", "user", "assistant", "user"]
    assert sent[0][1]["content"][1]["type"] == "image_url"
    assert sent[0][3] == {"role": "user", "content": [{"type": "text", "text": "And its size?"}]}
    assert len(panel.history.children) == 4
    panel.clear.click()
    assert panel.messages == [{"role": "system", "content": "Be brief."}]
    assert panel.history.children == ()


def test_bad_inputs_show_in_the_status_line(host):
    panel = ChatPanel(host)
    panel.send.click()
    assert (
        panel.status.value
        == '<span style="color:#b00020">Type a question or attach a file before sending.</span>'
    )
    upload(panel, "notes.txt", b"plain words")
    panel.question.value = "What is this?"
    panel.send.click()
    assert "&#x27;notes.txt&#x27; is application/octet-stream; attach an image" in panel.status.value
    assert panel.messages == [] and panel.history.children == ()
    assert panel.question.value == "What is this?"  # kept, so the learner can fix the attachment


def test_send_is_disabled_while_the_reply_streams(host):
    panel = ChatPanel(host)
    seen: list[bool] = []
    stream = panel._stream

    def watched(messages):
        for chunk in stream(messages):
            seen.append(panel.send.disabled)
            yield chunk

    panel._stream = watched
    upload(panel, "blue.png", image_bytes("PNG", (40, 30), "blue"))
    panel.question.value = "What colour is this?"
    panel.send.click()
    assert len(seen) > 1 and all(seen)
    assert not panel.send.disabled and panel.status.value == ""


def test_history_scrolls_in_a_box_of_bounded_height_above_the_inputs(host):
    panel = ChatPanel(host)
    scroller, question, buttons, status = panel.widget.children
    assert scroller.children == (panel.history,)
    assert scroller.layout.max_height == HISTORY_MAX_HEIGHT and scroller.layout.overflow == "auto"
    assert scroller.layout.flex_flow == "column-reverse"  # starts scrolled to the newest message
    assert panel.history.layout.flex == "0 0 auto"  # grows past the box (and scrolls), never squeezed
    assert (question, buttons.children, status) == (
        panel.question,
        (panel.upload, panel.send, panel.clear),
        panel.status,
    )


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_displayed_the_panel_is_the_live_widget_with_a_picture_of_its_conversation(host):
    """Where widgets cannot be drawn (an untrusted notebook, GitHub, nbconvert's HTML) the text/html
    picture shows the conversation, never a raw widget repr."""
    from IPython.core.interactiveshell import InteractiveShell

    panel = ChatPanel(host, system="Be brief.")
    panel.ask("What colour is <this>?", image_bytes("PNG", (40, 30), "blue"))
    data, _ = InteractiveShell.instance().display_formatter.format(panel)
    assert set(data) == {WIDGET_VIEW, "text/html", "text/plain"}
    assert data[WIDGET_VIEW]["model_id"]  # the live panel, drawn where widgets run
    assert data["text/plain"] == "Chat panel with 2 messages; run the notebook to use it."
    picture = data["text/html"]
    for bubble in panel.history.children:  # the bubbles as the live panel shows them
        assert bubble.value in picture
    assert "What colour is &lt;this&gt;?\n[attached: attachment]" in picture
    assert f"max-height:{HISTORY_MAX_HEIGHT};overflow:auto" in picture
    assert picture.count("<button disabled") == 3 and "<textarea disabled" in picture
    assert "VBox(" not in picture and data["text/plain"] not in picture


def test_an_empty_panel_pictures_no_messages(host):
    panel = ChatPanel(host)
    bundle = panel._repr_mimebundle_()
    assert "No messages yet." in bundle["text/html"]
    assert bundle["text/plain"] == "Chat panel with 0 messages; run the notebook to use it."
