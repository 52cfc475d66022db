"""The in-notebook chat panel: upload an image, a PDF or a clip, ask, and watch the reply stream in."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets

from .attachments import Attachment
from .errors import WorkbookError
from .parts import chat_content
from .prepare import prepare_file

_BUBBLE = (
    '<div style="margin:4px 0;padding:6px 10px;border-radius:8px;background:{bg}"><b>{who}</b>{body}</div>'
)

HISTORY_MAX_HEIGHT = "360px"  # the conversation scrolls beyond this; the question box and Send stay in view


def _bubble(who: str, text: str, bg: str) -> str:
    body = (
        '<pre style="white-space:pre-wrap;margin:4px 0 0;padding:0;border:0;background:transparent;'
        f'font-family:inherit">{html.escape(text)}</pre>'
    )
    return _BUBBLE.format(bg=bg, who=html.escape(who), body=body)


class ChatPanel:
    """A chat about files, kept in ``messages`` so every turn sees the earlier ones.

    ``ask(question, *files)`` is the whole logic (used by the Send button and by headless
    cells); the widgets only feed it. Replies stream into the last bubble as chunks arrive.
    """

    def __init__(self, host: Any, *, system: str | None = None, detail: str = "auto") -> None:
        self.host = host
        self.detail = detail
        self.system = system
        self.messages: list[dict[str, Any]] = []
        self.upload = widgets.FileUpload(
            accept="image/*,.pdf,audio/*,.m4a,.ogg,.webm", multiple=True, description="Attach"
        )
        self.question = widgets.Textarea(placeholder="Ask about the attached file...", rows=2)
        self.question.layout.width = "100%"
        self.send = widgets.Button(description="Send", button_style="primary", icon="paper-plane")
        self.clear = widgets.Button(description="Clear history", icon="trash")
        self.status = widgets.HTML()
        self.history = widgets.VBox(layout=widgets.Layout(flex="0 0 auto"))
        # The conversation scrolls inside a box of bounded height, so a long reply never pushes the question
        # box and Send off the screen; column-reverse starts the box scrolled to the end and keeps it
        # there while a reply streams in (unless the reader has scrolled up to an earlier turn).
        self.scroller = widgets.Box(
            [self.history],
            layout=widgets.Layout(max_height=HISTORY_MAX_HEIGHT, overflow="auto", flex_flow="column-reverse"),
        )
        self.send.on_click(self._on_send)
        self.clear.on_click(self._on_clear)
        self.reset()

    @property
    def widget(self) -> widgets.VBox:
        """The panel to display."""
        return widgets.VBox(
            [self.scroller, self.question, widgets.HBox([self.upload, self.send, self.clear]), self.status]
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The live panel, with a picture of it as it stands for where widgets cannot be drawn.

        Jupyter draws the widget view. A notebook opened untrusted (as after a fresh clone), GitHub
        and ``jupyter nbconvert --to html`` have no live widget: they show the ``text/html`` snapshot,
        the conversation in the same scrolling box with the question box and buttons greyed out.
        """
        bundle = self.widget._repr_mimebundle_()
        turns = sum(message["role"] != "system" for message in self.messages)
        bundle["text/plain"] = f"Chat panel with {turns} messages; run the notebook to use it."
        bundle["text/html"] = self.snapshot_html()
        return bundle

    def snapshot_html(self) -> str:
        """The panel as static HTML: the history's bubbles as shown, inputs and buttons disabled."""
        bubbles = "".join(child.value for child in self.history.children) or (
            '<p style="color:#666;margin:4px 0"><i>No messages yet.</i></p>'
        )
        buttons = "".join(
            f'<button disabled style="margin-right:6px">{html.escape(name)}</button>'
            for name in (self.upload.description, self.send.description, self.clear.description)
        )
        return (
            '<div style="border:1px solid #ccc;border-radius:6px;padding:6px;max-width:48em">'
            # Like the live panel: the history scrolls in a box of bounded height, starting at its end.
            f'<div style="max-height:{HISTORY_MAX_HEIGHT};overflow:auto;display:flex;'
            f'flex-direction:column-reverse"><div>{bubbles}</div></div>'
            f'<textarea disabled rows="2" placeholder="{html.escape(self.question.placeholder)}" '
            'style="width:100%;box-sizing:border-box;margin:6px 0 4px"></textarea>'
            f"<div>{buttons}</div>"
            '<p style="color:#666;font-size:90%;margin:4px 0 0"><i>A picture of the chat panel as these '
            "cells left it: run the notebook to ask your own questions.</i></p></div>"
        )

    def reset(self) -> None:
        """Forget the conversation (the system prompt stays)."""
        self.messages = [{"role": "system", "content": self.system}] if self.system else []
        self.history.children = ()
        self.status.value = ""

    def ask(self, question: str, *files: Attachment | str | bytes) -> str:
        """Send ``question`` with ``files`` after the earlier turns; return the full reply."""
        question = question.strip()
        if not question and not files:
            raise WorkbookError("Type a question or attach a file before sending.")
        attachments = [part for f in files for part in prepare_file(f, self.detail)]
        names = ", ".join(str(Attachment.coerce(f).name) for f in files)
        shown = question + (f"\n[attached: {names}]" if names else "")
        message = {
            "role": "user",
            "content": chat_content(question or "Describe the attachment.", *attachments, detail=self.detail),
        }
        reply = widgets.HTML(_bubble("Assistant", "...", "#f4f4f4"))
        self.history.children = (
            *self.history.children,
            widgets.HTML(_bubble("You", shown, "#e8f0fe")),
            reply,
        )
        text = ""
        for chunk in self._stream([*self.messages, message]):
            text += chunk
            reply.value = _bubble("Assistant", text, "#f4f4f4")
        self.messages += [message, {"role": "assistant", "content": text}]
        return text

    def _stream(self, messages: list[dict[str, Any]]) -> Iterable[str]:
        stream = self.host.client.chat.completions.create(
            model=self.host.model, messages=messages, stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    def _on_send(self, _button: widgets.Button | None = None) -> None:
        files = [Attachment(content=bytes(f["content"]), name=f["name"]) for f in self.upload.value]
        self.status.value = ""
        self.send.disabled = True
        try:
            self.ask(self.question.value, *files)
        except WorkbookError as exc:
            self.status.value = f'<span style="color:#b00020">{html.escape(str(exc))}</span>'
            return
        except Exception as exc:  # an API error must show in the panel, not vanish in a callback
            self.status.value = f'<span style="color:#b00020">{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>'
            return
        finally:
            self.send.disabled = False
        self.question.value = ""
        self.upload.value = ()

    def _on_clear(self, _button: widgets.Button | None = None) -> None:
        self.reset()
