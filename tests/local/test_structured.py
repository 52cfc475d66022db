"""Structured outputs of the local host: JSON that validates against the schema, filled from OCR.

Every reply is checked with jsonschema against the schema that was sent, and with Pydantic where a
model was given. The invoice and the form are drawn here with Pillow in DejaVu Sans (matplotlib's
copy, as data/make_data.py draws the receipt).
"""

from __future__ import annotations

import enum
import io
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import matplotlib
import openai
import pytest
from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import JsonSchemaFormat
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel

from helpers import chat_message, inference_message, prepare_image, responses_message
from helpers.local import reading
from helpers.local.structured import iso_date, number_of

ROOT = Path(__file__).resolve().parents[2]
RECEIPT = ROOT / "data" / "receipt.png"
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
MODEL = "local-multimodal"


class Item(BaseModel):
    name: str
    price: float


class Receipt(BaseModel):
    shop: str
    date: str
    items: list[Item]
    total: float


RECEIPT_JSON = (
    '{"shop":"GREEN LEAF CAFE","date":"2024-03-14","items":[{"name":"Cappuccino","price":3.8},'
    '{"name":"Blueberry muffin","price":2.9},{"name":"Tomato soup","price":5.5},'
    '{"name":"Cheese sandwich","price":6.2},{"name":"Orange juice","price":3.1}],"total":21.5}'
)


class Line(BaseModel):
    description: str
    quantity: int
    unit_price: float
    amount: float


class Party(BaseModel):
    name: str
    address: str | None


class Invoice(BaseModel):
    vendor: str
    invoice_number: str
    date: str
    bill_to: Party
    lines: list[Line]
    total_due: float


INVOICE_JSON = (
    '{"vendor":"NORTHWIND SUPPLIES","invoice_number":"INV-2024-117","date":"2024-03-12",'
    '"bill_to":{"name":"Contoso Bakery","address":null},"lines":['
    '{"description":"Flour sacks","quantity":10,"unit_price":45.0,"amount":450.0},'
    '{"description":"Oven repair","quantity":1,"unit_price":520.0,"amount":520.0},'
    '{"description":"Delivery","quantity":2,"unit_price":132.25,"amount":264.5}],"total_due":1234.5}'
)


Plan = enum.Enum("Plan", {"basic": "basic", "silver": "silver", "gold": "gold"}, type=str)


class Membership(BaseModel):
    name: str
    email: str
    member: bool
    plan: Plan
    joined: str
    phone: str | None


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The strict JSON schema the openai SDK sends for ``model`` (nested models under ``$defs``)."""
    return openai.pydantic_function_tool(model)["function"]["parameters"]


def checked(text: str | None, schema: dict[str, Any]) -> None:
    """``text`` is JSON that ``schema`` accepts."""
    jsonschema.validate(json.loads(text or "null"), schema)


def receipt(api: str = "chat") -> list[Any]:
    """The messages asking for the sample receipt, for Chat Completions, Responses or azure-ai-inference."""
    make = {"chat": chat_message, "responses": responses_message, "inference": inference_message}[api]
    return [make("Extract the receipt.", prepare_image(RECEIPT))]


def _page(size: tuple[int, int], lines: list[tuple[int, int, str, int, bool]]) -> bytes:
    """A white page with ``(x, y, text, font size, bold)`` lines in DejaVu Sans; x < 0 right-aligns at -x."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for x, y, text, points, bold in lines:
        name = FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
        font = ImageFont.truetype(str(name), points, layout_engine=ImageFont.Layout.BASIC)
        draw.text((abs(x), y), text, font=font, fill=0, anchor="ra" if x < 0 else "la")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def invoice_png() -> bytes:
    """An invoice: vendor, number, date, bill-to, a table of lines (qty, unit price, amount), total due."""
    table = [
        ("Description", "Qty", "Unit price", "Amount"),
        ("Flour sacks", "10", "45.00", "450.00"),
        ("Oven repair", "1", "520.00", "520.00"),
        ("Delivery", "2", "132.25", "264.50"),
    ]
    lines = [(60, 50, "NORTHWIND SUPPLIES", 44, True), (60, 560, "Total due: 1,234.50", 30, True)]
    heads = ("Invoice no. INV-2024-117", "Date: March 12, 2024", "Bill to: Contoso Bakery")
    lines += [(60, 95 + 45 * i, t, 26, False) for i, t in enumerate(heads, 1)]
    lines += [
        (x, 320 + 50 * r, cell, 26, r == 0)
        for r, row in enumerate(table)
        for x, cell in zip((60, 520, 660, -940), row, strict=True)
    ]
    return _page((1000, 660), lines)


@pytest.fixture(scope="module")
def form_png() -> bytes:
    """A membership form of labelled fields; the date 14/03/2024 can only be 14 March."""
    fields = (
        "Name: Ada Lovelace",
        "Email: ada@example.com",
        "Member: yes",
        "Plan: Gold",
        "Joined: 14/03/2024",
    )
    lines = [(60, 40, "Library membership", 40, True)]
    lines += [(60, 130 + 60 * i, t, 28, False) for i, t in enumerate(fields)]
    return _page((900, 460), lines)


# --- the openai SDK's parse helpers -----------------------------------------------------------------


def test_receipt_with_chat_completions_parse(oai: openai.OpenAI):
    completion = oai.chat.completions.parse(model=MODEL, messages=receipt(), response_format=Receipt)
    choice = completion.choices[0]
    assert choice.message.content == RECEIPT_JSON
    assert choice.message.refusal is None
    assert choice.finish_reason == "stop"
    checked(choice.message.content, strict_schema(Receipt))
    parsed = choice.message.parsed
    assert parsed is not None
    assert (parsed.shop, parsed.date, parsed.total) == ("GREEN LEAF CAFE", "2024-03-14", 21.50)
    assert [(i.name, i.price) for i in parsed.items] == [
        ("Cappuccino", 3.80), ("Blueberry muffin", 2.90), ("Tomato soup", 5.50), ("Cheese sandwich", 6.20), ("Orange juice", 3.10)
    ]  # fmt: skip
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_receipt_with_responses_parse(oai: openai.OpenAI):
    response = oai.responses.parse(model=MODEL, input=receipt("responses"), text_format=Receipt)
    assert response.output_text == RECEIPT_JSON
    assert response.output_parsed == Receipt.model_validate_json(RECEIPT_JSON)
    fmt = response.text.format if response.text else None
    assert fmt is not None and fmt.type == "json_schema" and fmt.name == "Receipt" and fmt.strict is True
    assert response.status == "completed" and response.usage is not None


def test_invoice_with_nested_lines(oai: openai.OpenAI, invoice_png: bytes):
    messages = [chat_message("Extract the invoice.", prepare_image(invoice_png))]
    completion = oai.chat.completions.parse(model=MODEL, messages=messages, response_format=Invoice)
    message = completion.choices[0].message
    assert message.content == INVOICE_JSON
    checked(message.content, strict_schema(Invoice))
    assert message.parsed == Invoice.model_validate_json(INVOICE_JSON)


def test_form_with_a_bool_an_enum_and_an_optional(oai: openai.OpenAI, form_png: bytes):
    messages = [chat_message("Fill in the form.", prepare_image(form_png))]
    completion = oai.chat.completions.parse(model=MODEL, messages=messages, response_format=Membership)
    message = completion.choices[0].message
    assert message.content == (
        '{"name":"Ada Lovelace","email":"ada@example.com","member":true,"plan":"gold",'
        '"joined":"14/03/2024","phone":null}'
    )
    checked(message.content, strict_schema(Membership))
    assert message.parsed is not None and message.parsed.plan is Plan.gold and message.parsed.member is True


def test_streamed_json_schema_comes_in_pieces_and_parses(oai: openai.OpenAI):
    with oai.chat.completions.stream(model=MODEL, messages=receipt(), response_format=Receipt) as stream:
        pieces = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert len(pieces) > 10 and "".join(pieces) == RECEIPT_JSON
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.parsed == Receipt.model_validate_json(RECEIPT_JSON)


def test_streamed_responses_json_schema(oai: openai.OpenAI):
    with oai.responses.stream(model=MODEL, input=receipt("responses"), text_format=Receipt) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == RECEIPT_JSON
    assert final.output_parsed == Receipt.model_validate_json(RECEIPT_JSON)


# --- raw schemas, json_object, other clients ----------------------------------------------------------

LOOSE = {
    "type": "object",
    "properties": {
        "amount_paid": {"type": "number", "description": "what was paid by card"},
        "receipt_number": {"type": "integer"}, "table": {"type": "integer"}, "time": {"type": "string"},
        "note": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["amount_paid", "tags"],
}  # fmt: skip


def test_raw_json_schema_not_strict(oai: openai.OpenAI):
    fmt = {"type": "json_schema", "json_schema": {"name": "payment", "schema": LOOSE, "strict": False}}
    completion = oai.chat.completions.create(model=MODEL, messages=receipt(), response_format=fmt)  # type: ignore[arg-type]
    content = completion.choices[0].message.content
    assert content == '{"amount_paid":21.5,"receipt_number":10482,"table":7,"time":"12:41","tags":[]}'
    checked(content, LOOSE)  # "note" was found nowhere and is not required, so it is left out


def test_json_object_is_the_labelled_rows(oai: openai.OpenAI):
    messages = [chat_message("Return the receipt as JSON.", prepare_image(RECEIPT))]
    completion = oai.chat.completions.create(
        model=MODEL, messages=messages, response_format={"type": "json_object"}
    )
    assert completion.choices[0].message.content == (
        '{"Tel.":"555-0142","Date":"2024-03-14","Time":"12:41","Receipt no.":"10482","Table":"7",'
        '"Cappuccino":"$3.80","Blueberry muffin":"$2.90","Tomato soup":"$5.50","Cheese sandwich":"$6.20",'
        '"Orange juice":"$3.10","TOTAL":"$21.50","Paid by card":"$21.50"}'
    )


def test_text_only_fills_from_label_lines_else_empty(oai: openai.OpenAI):
    schema = strict_schema(Membership)
    fmt = {"type": "json_schema", "json_schema": {"name": "Membership", "schema": schema, "strict": True}}
    said = "Fill this in.\nName: Grace Hopper\nMember: no\nPlan: silver"
    completion = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": said}], response_format=fmt)  # fmt: skip
    content = completion.choices[0].message.content
    assert content == '{"name":"Grace Hopper","email":"","member":false,"plan":"silver","joined":"","phone":null}'  # fmt: skip
    checked(content, schema)
    empty = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Nothing."}], response_format=fmt)  # fmt: skip
    assert empty.choices[0].message.content == '{"name":"","email":"","member":false,"plan":"basic","joined":"","phone":null}'  # fmt: skip


def test_azure_openai_and_json_object_of_text(azure: openai.AzureOpenAI):
    completion = azure.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "Total: 12.50"},
        ],
        response_format={"type": "json_object"},
    )
    assert completion.choices[0].message.content == '{"Total":"12.50"}'


def test_azure_ai_inference_json_schema_format(inference: ChatCompletionsClient):
    properties = {
        "shop": {"type": "string"},
        "total": {"type": "number"},
        "currency": {"enum": ["EUR", "USD"]},
    }
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    result = inference.complete(
        messages=receipt("inference"),
        response_format=JsonSchemaFormat(name="totals", schema=schema, strict=True),
    )
    content = result.choices[0].message.content
    assert content == '{"shop":"GREEN LEAF CAFE","total":21.5,"currency":"EUR"}'  # no currency printed: the first  # fmt: skip
    checked(content, schema)


# --- refused ------------------------------------------------------------------------------------------


def _error(raw: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = raw.post(path, json=body)
    assert response.status_code == 400, response.text
    return response.json()["error"]


def _chat(schema: Any, strict: bool = True, content: str = "hi") -> dict[str, Any]:
    spec = {"name": "thing", "schema": schema, "strict": strict}
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], "response_format": {"type": "json_schema", "json_schema": spec}}  # fmt: skip


NODE = {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}, "required": ["next"], "additionalProperties": False}  # fmt: skip
CYCLE = {"$defs": {"Node": NODE}, **NODE}
CIRCLE_OR_SQUARE = [{"type": "object", "properties": {"r": {"type": "number"}}}, {"type": "object", "properties": {"w": {"type": "number"}}}]  # fmt: skip
SHAPES = {"type": "object", "properties": {"shape": {"oneOf": CIRCLE_OR_SQUARE}}}


def test_ref_cycle_and_one_of_are_refused_by_name(raw: httpx.Client):
    cycle = _error(raw, "/v1/chat/completions", _chat(CYCLE))
    assert cycle["code"] == "invalid_json_schema" and cycle["param"] == "response_format"
    assert cycle["message"].startswith(
        "Invalid schema for response_format 'thing': In context=('$defs', 'Node', 'properties', 'next'), "
        "'$ref' is not supported by the local model: '#/$defs/Node' refers back to itself"
    )
    one_of = _error(raw, "/v1/chat/completions", _chat(SHAPES, strict=False))
    assert one_of["message"].startswith(
        "Invalid schema for response_format 'thing': In context=('properties', 'shape'), 'oneOf' is not "
        "supported by the local model"
    )
    any_of = {"type": "object", "properties": {"shape": {"anyOf": CIRCLE_OR_SQUARE}}}
    assert "'anyOf' is not supported" in _error(raw, "/v1/chat/completions", _chat(any_of, False))["message"]
    body = {"model": MODEL, "input": "hi", "text": {"format": {"type": "json_schema", "name": "n", "schema": CYCLE}}}  # fmt: skip
    assert _error(raw, "/v1/responses", body)["param"] == "text.format.schema"


def test_invalid_schemas_get_the_services_400s(raw: httpx.Client):
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    assert _error(raw, "/v1/chat/completions", _chat(loose))["message"] == (
        "Invalid schema for response_format 'thing': In context=(), 'additionalProperties' is required to be "
        "supplied and to be false."
    )
    partial = {**loose, "properties": {"a": {"type": "string"}, "b": {"type": "number"}}, "additionalProperties": False}  # fmt: skip
    assert _error(raw, "/v1/chat/completions", _chat(partial))["message"].endswith(
        "'required' is required to be supplied and to be an array including every key in properties. Missing 'b'."
    )
    no_name = _chat(loose)
    del no_name["response_format"]["json_schema"]["name"]
    assert _error(raw, "/v1/chat/completions", no_name)["message"] == (
        "Missing required parameter: 'response_format.json_schema.name'."
    )
    text_schema = _error(raw, "/v1/chat/completions", _chat("an object"))
    assert text_schema["param"] == "response_format.json_schema.schema"
    assert text_schema["message"].startswith("Invalid type for 'response_format.json_schema.schema': expected an object")  # fmt: skip
    body = {"model": MODEL, "input": "hi", "text": {"format": {"type": "json_schema", "name": "n"}}}
    assert _error(raw, "/v1/responses", body)["message"] == "Missing required parameter: 'text.format.schema'."  # fmt: skip


def test_json_object_without_the_word_json(raw: httpx.Client):
    chat = {**_chat({}, content="Total: 3"), "response_format": {"type": "json_object"}}
    error = _error(raw, "/v1/chat/completions", chat)
    assert error == {
        "message": "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
        "'json_object'.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": None,
    }
    body = {"model": MODEL, "instructions": "Reply in JSON.", "input": "Total: 3", "text": {"format": {"type": "json_object"}}}  # fmt: skip
    assert _error(raw, "/v1/responses", body)["message"] == (
        "Response input messages must contain the word 'json' in some form to use 'text.format' of type "
        "'json_object'."
    )


# --- the reading rules ---------------------------------------------------------------------------------


def test_pairs_dates_and_numbers():
    assert reading.pairs("Date: 2024-03-14 Time: 12:41") == [("Date", "2024-03-14"), ("Time", "12:41")]
    assert reading.pairs("Receipt no. 10482 Table 7") == [("Receipt no.", "10482"), ("Table", "7")]
    assert reading.pairs("Bill to: Contoso Bakery Ref: 55") == [("Bill to", "Contoso Bakery"), ("Ref", "55")]
    assert reading.pairs("Qty: 2 Unit price: 10.00") == [("Qty", "2"), ("Unit price", "10.00")]
    assert reading.name_words("invoiceNumber") == ["invoice", "number"]
    assert reading.name_words("total_amount") == ["total", "amount"]
    dates = ("2024-03-14", "13/03/2024", "12/03/2024", "March 12, 2024", "12 Mar 2024", "Feb 30, 2024")
    assert [iso_date(d) for d in dates] == ["2024-03-14", "2024-03-13", None, "2024-03-12", "2024-03-12", None]  # fmt: skip
    assert [number_of(t) for t in ("$1,234.50", "1.234,50 €", "3,80", "-3", "INV-2024-117", "none")] == [
        1234.5, 1234.5, 3.8, -3.0, None, None
    ]  # fmt: skip
