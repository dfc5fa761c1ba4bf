"""Bot API parameters as Telegram reads them: from the query string and JSON, url-encoded or
multipart bodies, with numbers, booleans and JSON-serialized objects decoded."""

from __future__ import annotations

import json
import re
from email.message import Message as _MimeHeaders
from typing import Any
from urllib.parse import parse_qsl

from digestbot.fakeapi.faults import ApiError
from digestbot.fakeapi.http import HttpRequest
from digestbot.fakeapi.models import INTEGER, JSONDict, UploadedFile

#: Form fields that are always plain strings, never decoded as numbers, booleans or JSON.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_query_id",
        "inline_message_id", "url", "secret_token", "ip_address", "language_code",
        "description", "short_description", "name", "title", "action", "file_id", "question",
        "emoji", "business_connection_id", "message_effect_id", "custom_title", "payload",
        "provider_token", "currency", "start_parameter", "first_name", "last_name",
        "phone_number", "address", "vcard", "explanation", "error_message", "game_short_name",
        "invite_link", "sticker_set_name", "switch_pm_text", "switch_pm_parameter",
        "next_offset", "custom_emoji_id", "icon_custom_emoji_id", "format", "tag",
    }
)  # fmt: skip
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+")


def parse_params(query: str, request: HttpRequest) -> tuple[JSONDict, dict[str, UploadedFile]]:
    """Parameters from the query string and the body, decoded as Telegram reads them."""
    params: JSONDict = {k: _decode_form(k, v) for k, v in parse_qsl(query, keep_blank_values=True)}
    files: dict[str, UploadedFile] = {}
    if not request.body:
        return params, files
    content_type = _MimeHeaders()
    content_type["content-type"] = request.headers.get("content-type", "")
    kind = content_type.get_content_type()
    if kind == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON request body") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request: JSON request body must be an object")
        params.update({k: _decode_json_text(k, v) for k, v in data.items()})
    elif kind == "application/x-www-form-urlencoded":
        form = parse_qsl(request.body.decode(), keep_blank_values=True)
        params.update({k: _decode_form(k, v) for k, v in form})
    elif kind == "multipart/form-data":
        boundary = content_type.get_param("boundary")
        if not isinstance(boundary, str):
            raise ApiError(400, "Bad Request: multipart body without boundary")
        fields, files = _parse_multipart(request.body, boundary)
        params.update({k: _decode_form(k, v) for k, v in fields.items()})
    return params, files


def _parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = _MimeHeaders()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if value:
                headers[name.strip()] = value.strip()
        field_name = headers.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            continue
        filename = headers.get_filename()
        if filename is None:
            fields[field_name] = content.decode()
        else:
            content_type = headers.get("content-type")
            files[field_name] = UploadedFile(field_name, filename, content_type, content)
    return fields, files


def _decode_json_text(name: str, value: Any) -> Any:
    """JSON-serialized objects and arrays inside a string parameter, decoded."""
    if isinstance(value, str) and name not in _STRING_PARAMS and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _decode_form(name: str, value: str) -> Any:
    """A form or query-string value: numbers, booleans and JSON as Telegram reads them."""
    if name in _STRING_PARAMS:
        return value
    if INTEGER.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    if value in ("true", "false"):
        return value == "true"
    return _decode_json_text(name, value)


def int_param(value: Any, default: int) -> int:
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid integer {value!r}") from None


def number_param(value: Any, default: float) -> float:
    if value is None or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid number {value!r}") from None


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
