"""A PDF sent as a file part, and audio sent by URL, through the real openai and azure-ai-inference SDKs."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient

from helpers import Attachment, PdfError, chat_content, inference_message, pdf_pages, responses_content
from helpers.attachments import human_size
from helpers.local.documents import MAX_FILE_PAGES
from helpers.pdf import pymupdf

from ..badinputs.corpus import zero_page_pdf  # a well-formed PDF with an empty page tree
from .conftest import SENTENCE, b64, data_url, image_bytes

DATA = Path(__file__).resolve().parents[2] / "data"
REPORT = (DATA / "report.pdf").read_bytes()
FILE_DATA = "messages[0].content[1].file.file_data"
AUDIO_URL = "messages[0].content[1].audio_url.url"


def ask_file(oai: openai.OpenAI, question: str, data: bytes, filename: str = "report.pdf") -> str:
    """Chat Completions with ``question`` and the PDF ``data`` as a file part; the reply text."""
    reply = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": chat_content(question, _pdf(data, filename))}],
    )
    return reply.choices[0].message.content or ""


def _pdf(data: bytes, filename: str) -> Attachment:
    return Attachment(content=data, name=filename)


def body_with(part: dict[str, object], text: str = "What is this about?") -> dict[str, Any]:
    """A raw Chat Completions body: one user message of ``text`` and ``part``."""
    return {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}, part]}],
    }


def file_body(data_url_: str, filename: str = "report.pdf") -> dict[str, Any]:
    """A raw Chat Completions body whose second part is a file part with ``data_url_``."""
    return body_with({"type": "file", "file": {"filename": filename, "file_data": data_url_}})


def pdf_of(*pages: tuple[float, float, str | bytes], **save: object) -> bytes:
    """A PDF of pages (width, height in points, and a line of text or the PNG that fills the page)."""
    doc = pymupdf.open()
    for width, height, content in pages:
        page = doc.new_page(width=width, height=height)
        if isinstance(content, bytes):
            page.insert_image(page.rect, stream=content)
        elif content:
            page.insert_text((72, 90), content, fontsize=22)
    data = doc.tobytes(**save)
    doc.close()
    return data


@pytest.fixture(scope="module")
def scan_pdf(page_png: bytes) -> bytes:
    """An A4 page that is only a picture of text (page_png, rendered at 150 dpi): no text layer."""
    return pdf_of((595, 842, page_png))


# --- the report -------------------------------------------------------------------------------


def test_report_question_is_answered_on_its_page(oai: openai.OpenAI) -> None:
    lines = ask_file(oai, "Which region grew fastest?", REPORT).splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["Page 1", "Page 2", "Page 3", "Page 4"]
    assert lines[1] == "Page 2: The northern region grew fastest in the third quarter."


def test_report_about_and_table_cell(oai: openai.OpenAI) -> None:
    about = ask_file(oai, "What is this report about?", REPORT).splitlines()
    assert about[0] == (
        "Page 1: Quarterly Sales Report 2024: This report summarises the sales of our four regions, North, "
        "South, East and West, during the four quarters of 2024."
    )
    # The table's cells sit on one baseline each row, so they form one row as OCR rows do.
    cell = ask_file(oai, "What were the sales of North in Q3?", REPORT).splitlines()
    assert cell[1] == "Page 2: North, Q3: 190"
    described = ask_file(oai, "Describe this document.", REPORT).splitlines()
    assert described[1] == (
        "Page 2: 'report.pdf' is a PDF of 4 pages (49 KB). Page 2 is 210 x 297 mm (A4), with a text layer of "
        '11 lines. Its title is "Sales by region and quarter".'
    )


def test_report_through_the_responses_api(oai: openai.OpenAI) -> None:
    reply = oai.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": responses_content("Which region grew fastest?", _pdf(REPORT, "r.pdf")),
            }
        ],
    )
    assert (
        reply.output_text.splitlines()[1] == "Page 2: The northern region grew fastest in the third quarter."
    )
    # detail low prices each page image at the gpt-4o base, 85 tokens
    low = oai.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Which region grew fastest?"},
                    {
                        "type": "input_file",
                        "filename": "r.pdf",
                        "file_data": data_url(REPORT, "application/pdf"),
                        "detail": "low",
                    },
                ],
            }
        ],
    )
    assert low.usage.input_tokens == reply.usage.input_tokens - 4 * (1105 - 85)


# --- a scan -----------------------------------------------------------------------------------


def test_scanned_pdf_is_read_by_ocr(oai: openai.OpenAI, scan_pdf: bytes) -> None:
    text = ask_file(oai, "When does the harbour ferry leave?", scan_pdf, "scan.pdf")
    assert text.splitlines() == [SENTENCE, "(The passage of the text that matches the question best.)"]
    described = ask_file(oai, "Describe this document.", scan_pdf, "scan.pdf")
    assert described.startswith(
        f"'scan.pdf' is a PDF of 1 page ({human_size(len(scan_pdf))}). Its page is 210 x 297 mm (A4), with no "
        'text layer (scanned; read by OCR). Its title is "Travel notes".'
    )


# --- usage ------------------------------------------------------------------------------------


def test_usage_is_text_tokens_plus_one_image_per_page(oai: openai.OpenAI) -> None:
    label = pymupdf.open()
    label.new_page(width=300, height=200).insert_text((20, 100), "Room 12 is on the left.", fontsize=18)
    png = label[0].get_pixmap(dpi=150).tobytes("png")
    doc = pymupdf.open()
    first = doc.new_page(width=595, height=842)
    first.insert_text((72, 90), "Travel notes", fontsize=22)
    first.insert_text((72, 150), SENTENCE, fontsize=16)
    second = doc.new_page(width=300, height=200)
    second.insert_image(second.rect, stream=png)  # a scan: no text layer, so no text tokens
    pdf = doc.tobytes()
    reply = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": chat_content("Read the document.", _pdf(pdf, "notes.pdf"))}],
    )
    usage = reply.usage
    # Text layer: "Travel notes\nThe harbour ferry leaves at seven every morning." is 12 tokens
    # (Travel, " notes", "\n", The, " harbour", " ferry", " leaves", " at", " seven", " every", " morning", ".").
    # Page images at 150 dpi, gpt-4o, detail auto:
    #   A4, 595 x 842 pt -> 1240 x 1755 px -> 768 x 1087 -> 2 x 3 tiles -> 85 + 6 * 170 = 1105;
    #   300 x 200 pt -> 625 x 417 px (short side under 768, kept) -> 2 x 1 tiles -> 85 + 2 * 170 = 425.
    # Around them: the message's 3, the role's 1, "Read the document." 4, the reply's 3.
    assert usage.prompt_tokens_details.image_tokens == 1105 + 425
    assert usage.prompt_tokens_details.text_tokens == 3 + 1 + 4 + 12 + 3
    assert usage.prompt_tokens == 3 + 1 + 4 + 12 + 1105 + 425 + 3
    assert (
        reply.choices[0].message.content
        == f"Page 1: Travel notes\n{SENTENCE}\nPage 2: Room 12 is on the left."
    )


# --- bad PDFs ---------------------------------------------------------------------------------


def pdf_pages_message(data: bytes, name: str) -> str:
    """What pdf_pages says about these bytes: the local host must say the same."""
    with pytest.raises(PdfError) as err:
        list(pdf_pages(data, name=name, dpi=36, progress=False))
    return str(err.value)


def error_of(raw: httpx.Client, body: dict[str, object]) -> tuple[int, str, str]:
    response = raw.post("/v1/chat/completions", json=body)
    error = response.json()["error"]
    return response.status_code, error["param"], error["message"]


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("encrypted", "is encrypted"),
        ("truncated", "truncated"),
        ("zero pages", "has no pages"),
        ("not a PDF at all", "is not a readable PDF"),
    ],
)
def test_bad_pdfs_get_pdf_pages_messages(raw: httpx.Client, case: str, says: str) -> None:
    data = {
        "encrypted": pdf_of(
            (300, 200, "Secret."), encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o"
        ),
        "truncated": REPORT[: len(REPORT) // 2],
        "zero pages": zero_page_pdf(),
        "not a PDF at all": b"just some text, not a PDF",
    }[case]
    status, param, message = error_of(raw, file_body(data_url(data, "application/pdf"), "bad.pdf"))
    assert (status, param) == (400, FILE_DATA)
    assert message == pdf_pages_message(data, "bad.pdf")
    assert says in message and message.startswith("'bad.pdf' ")


def test_an_image_sent_as_a_file_is_not_a_pdf(raw: httpx.Client) -> None:
    png = image_bytes("PNG")
    assert error_of(raw, file_body(data_url(png, "application/pdf"), "photo.pdf")) == (
        400,
        FILE_DATA,
        f"Invalid value for '{FILE_DATA}': 'photo.pdf' is image/png, not a PDF. A file part takes a PDF; send "
        "images as image parts.",
    )
    assert error_of(raw, file_body(data_url(png, "image/png"), "photo.png")) == (
        400,
        FILE_DATA,
        f"Invalid file data: '{FILE_DATA}'. Expected a base64-encoded data URL with the MIME type "
        "application/pdf (e.g. 'data:application/pdf;base64,JVBERi0xLjcK...'), but got unsupported MIME type "
        "'image/png' (the local host reads PDF files).",
    )


def test_over_the_page_limit(raw: httpx.Client) -> None:
    doc = pymupdf.open()
    for _ in range(MAX_FILE_PAGES + 1):
        doc.new_page(width=200, height=200)
    data = doc.tobytes()
    assert error_of(raw, file_body(data_url(data, "application/pdf"), "long.pdf")) == (
        400,
        FILE_DATA,
        f"Invalid value for '{FILE_DATA}': 'long.pdf' has 101 pages; the local host reads at most 100 pages "
        "of a file. Split the PDF, or render the pages you need with pdf_pages().",
    )


def test_a_file_uploaded_to_the_files_api_is_read_by_its_id(oai: openai.OpenAI, raw: httpx.Client) -> None:
    uploaded = oai.files.create(file=("report.pdf", REPORT), purpose="user_data")
    reply = oai.chat.completions.create(
        model="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Which region grew fastest?"},
                    {"type": "file", "file": {"file_id": uploaded.id}},
                ],
            }
        ],
    )
    assert (
        "Page 2: The northern region grew fastest in the third quarter." in reply.choices[0].message.content
    )
    missing = raw.post(
        "/v1/chat/completions", json=body_with({"type": "file", "file": {"file_id": "file-abc123"}})
    )
    assert missing.status_code == 404


# --- fetched over http --------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback http.server in a thread serving the bytes put in its dict, by path."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", files
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_pdf_by_file_url_on_loopback(oai: openai.OpenAI, served: tuple[str, dict[str, bytes]]) -> None:
    root, files = served
    files["/docs/report.pdf"] = REPORT
    reply = oai.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": responses_content("Which region grew fastest?", f"{root}/docs/report.pdf"),
            }
        ],
    )
    assert (
        reply.output_text.splitlines()[1] == "Page 2: The northern region grew fastest in the third quarter."
    )


def transcript(oai: openai.OpenAI, part: dict[str, object]) -> Any:
    return oai.chat.completions.create(**body_with(part, "Transcribe this."))


def test_audio_url_on_loopback_and_as_data_url(
    oai: openai.OpenAI, served: tuple[str, dict[str, bytes]], hello_wav_bytes: bytes, hello_mp3: bytes
) -> None:
    root, files = served
    files["/clips/hello.wav"] = hello_wav_bytes
    files["/clips/hello.mp3"] = hello_mp3
    as_input_audio = transcript(
        oai, {"type": "input_audio", "input_audio": {"data": b64(hello_wav_bytes), "format": "wav"}}
    )
    expected = as_input_audio.choices[0].message.content
    assert expected.startswith("Transcript: Hello")
    by_url = transcript(oai, chat_content(None, f"{root}/clips/hello.wav")[0])
    assert by_url.choices[0].message.content == expected
    assert by_url.usage == as_input_audio.usage  # the same clip costs the same audio tokens
    by_data_url = transcript(
        oai, {"type": "audio_url", "audio_url": {"url": data_url(hello_wav_bytes, "audio/wav")}}
    )
    assert by_data_url.choices[0].message.content == expected
    mp3 = transcript(oai, {"type": "audio_url", "audio_url": {"url": f"{root}/clips/hello.mp3"}})
    assert mp3.choices[0].message.content.startswith("Transcript: Hello")


def test_audio_url_through_azure_ai_inference(
    inference: ChatCompletionsClient, served: tuple[str, dict[str, bytes]], hello_wav_bytes: bytes
) -> None:
    root, files = served
    files["/hello.wav"] = hello_wav_bytes
    reply = inference.complete(messages=[inference_message("Transcribe this.", f"{root}/hello.wav")])
    assert reply.choices[0].message.content.startswith("Transcript: Hello")


OFF_LOOPBACK = (
    "The local host fetches {what} URLs only from loopback (localhost, 127.0.0.1, ::1) and from hosts that "
    "LOCAL_IMAGE_URL_ALLOW lists; 10.0.0.1 is neither. Send the {what} as a base64 data URL, or add the host "
    "to LOCAL_IMAGE_URL_ALLOW."
)


def test_audio_url_off_loopback_is_refused_as_images_are(raw: httpx.Client) -> None:
    body = body_with
    image = raw.post(
        "/v1/chat/completions",
        json=body({"type": "image_url", "image_url": {"url": "http://10.0.0.1/a.png"}}),
    )
    audio = raw.post(
        "/v1/chat/completions",
        json=body({"type": "audio_url", "audio_url": {"url": "http://10.0.0.1/a.wav"}}),
    )
    assert (
        image.json()["error"]["message"]
        == f"Error while downloading http://10.0.0.1/a.png. {OFF_LOOPBACK.format(what='image')}"
    )
    assert (audio.status_code, audio.json()["error"]) == (
        400,
        {
            "message": f"Error while downloading http://10.0.0.1/a.wav. {OFF_LOOPBACK.format(what='audio')}",
            "type": "invalid_request_error",
            "param": AUDIO_URL,
            "code": "invalid_audio_url",
        },
    )
    azure = raw.post(
        "/openai/v1/chat/completions",
        json=body({"type": "audio_url", "audio_url": {"url": "http://10.0.0.1/a.wav"}}),
    )
    assert (
        azure.json()["error"]["message"]
        == f"The provided audio url is not accessible. {OFF_LOOPBACK.format(what='audio')}"
    )


def test_audio_url_that_is_not_wav_or_mp3(raw: httpx.Client, served: tuple[str, dict[str, bytes]]) -> None:
    root, files = served
    files["/a.wav"] = image_bytes("PNG")
    part = {"type": "audio_url", "audio_url": {"url": f"{root}/a.wav"}}
    response = raw.post("/v1/chat/completions", json=body_with(part))
    assert response.json()["error"]["message"] == (
        f"Invalid value for '{AUDIO_URL}': the clip is image/png bytes; audio_url takes wav or mp3 (the formats of "
        "input_audio). Convert it with helpers.prepare_audio."
    )
