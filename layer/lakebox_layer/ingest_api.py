"""The ingestion API's decisions, as data: who a request comes from, whether it may write the dataset it names, and
the records its body holds. Pure, no AWS: the authorizer and the API's function call these and answer with them.

The authorizer looks up the bearer key and always answers "authorized" with what it found in its context
(`producer`, `datasets`, `refused`): an HTTP API's simple authorizer response can only say 403, while a client with
an unknown or revoked key must be told 401 (change your credentials) and one asking for a dataset it may not write
403 (change your request). The API's function reads that context first and answers 401 or 403 before it touches
anything. The gateway caches the authorizer's answer per key for AUTHORIZER_CACHE_S, so the context holds the
producer's datasets, never a per-dataset verdict.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import NotAJsonObject
from lakebox_layer.producers import Producer
from lakebox_layer.records import INPUT_PREFIX
from lakebox_layer.status import fold_status, missing
from lakebox_layer.stream_puts import read_json_lines
from lakebox_layer.strict_json import StrictJson

BEARER = "bearer "
# A request's body at most: what one PutRecords call takes is 5 MB and 500 records; a smaller body keeps each call
# quick and a producer's retry cheap.
MAX_BODY_BYTES = 1024 * 1024
MAX_RECORDS = 500
# A file sent through a presigned URL: at most this size (the largest file every stage is known to handle, see
# docs/performance.md), the URL valid this long, and a name S3 and a shell take as it is.
MAX_FILE_BYTES = 1024 * 1024 * 1024
PRESIGNED_URL_S = 300
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_PROCESS_ID = re.compile(r"[0-9a-f]{32}")
# Authorizer context keys (values are strings: API Gateway passes them on as given).
PRODUCER = "producer"
DATASETS = "datasets"
REFUSED = "refused"


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header's value, its name in any case, or None."""
    return next((v for k, v in (headers or {}).items() if k.lower() == name), None)


def bearer_key(headers: Mapping[str, str] | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header (any case), or None."""
    value = header(headers, "authorization")
    if value is None or value[:len(BEARER)].lower() != BEARER:
        return None
    return value[len(BEARER):].strip() or None


def authorizer_answer(producer: Producer | None) -> dict[str, Any]:
    """The authorizer's simple response for the producer a key belongs to (None: no such key)."""
    if producer is None:
        context = {REFUSED: "unknown key"}
    elif producer.revoked:
        context = {REFUSED: f"key revoked at {producer.revoked_at}", PRODUCER: producer.name}
    else:
        context = {PRODUCER: producer.name, DATASETS: ",".join(producer.datasets)}
    return {"isAuthorized": True, "context": context}


class Refusal(Exception):
    """A request refused: its HTTP status and the reason the client reads."""

    def __init__(self, status: int, reason: str, retry_after_s: int | None = None) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
        self.retry_after_s = retry_after_s

    def response(self) -> dict[str, Any]:
        response = json_response(self.status, {"error": self.reason})
        if self.retry_after_s is not None:
            response["headers"]["retry-after"] = str(self.retry_after_s)
        return response


def json_response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """An HTTP API (payload 2.0) response with a JSON body."""
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body, separators=(",", ":"))}


def _authorizer_context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the authorizer found, as the gateway hands it on (empty when it handed nothing)."""
    return ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}


def caller(event: Mapping[str, Any]) -> str:
    """The producer the authorizer vouched for, or a Refusal: 401 for an unknown or revoked key."""
    context = _authorizer_context(event)
    if context.get(REFUSED) or not context.get(PRODUCER):
        raise Refusal(401, f"{context.get(REFUSED) or 'no producer key'}: send `Authorization: Bearer <key>` "
                           "with a key from `lakebox producer add`")
    return str(context[PRODUCER])


def writable_dataset(event: Mapping[str, Any]) -> str:
    """The request's dataset, when the caller may write it: 400 for a bad name, 403 for one not its own."""
    dataset = str((event.get("pathParameters") or {}).get("dataset") or "")
    problem = dataset_name_problem(dataset)
    if problem is not None:
        raise Refusal(400, problem)
    context = _authorizer_context(event)
    if dataset not in str(context.get(DATASETS) or "").split(","):
        raise Refusal(403, f"producer {context.get(PRODUCER)} may not write dataset {dataset}")
    return dataset


def body_bytes(event: Mapping[str, Any]) -> bytes:
    """The request's body as bytes (API Gateway sends binary bodies in base64): 413 past MAX_BODY_BYTES."""
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise Refusal(413, f"the body is {len(raw)} bytes: at most {MAX_BODY_BYTES} in one request")
    return raw


def records_of(raw: bytes) -> list[dict[str, Any]]:
    """The records of a body: one JSON object, a JSON array of objects, or JSON Lines (an object per line). Every
    record must be a JSON object; 400 with where and why otherwise, 413 past MAX_RECORDS."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refusal(400, f"the body is not UTF-8 text: {error.reason} at byte {error.start}") from error
    if not text.strip():
        raise Refusal(400, "the body is empty: send a JSON object, a JSON array of objects or JSON Lines")
    whole = _decoded(text)
    if isinstance(whole, dict):
        records: list[Any] = [whole]
    elif isinstance(whole, list):
        records = whole
        if not records:
            raise Refusal(400, "the body is an empty array: nothing to send")
    else:  # JSON Lines, read as `lakebox send` reads them
        try:
            records = list(read_json_lines(text.splitlines()))
        except NotAJsonObject as refused:
            raise Refusal(400, str(refused)) from refused
    if len(records) > MAX_RECORDS:
        raise Refusal(413, f"{len(records)} records: at most {MAX_RECORDS} in one request")
    for position, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise Refusal(400, f"record {position} is {type(record).__name__}, not a JSON object")
    return records


def _decoded(text: str) -> Any:
    """The body as one JSON value, or None when it is not one (JSON Lines, or not JSON at all)."""
    decoder = StrictJson()
    try:
        value = decoder.loads(text)
    except (ValueError, RecursionError):
        return None
    problem = decoder.problem()
    if problem is not None:
        raise Refusal(400, f"ambiguous JSON: {problem}")
    return value if isinstance(value, dict | list) else None


def file_key(event: Mapping[str, Any], dataset: str, producer: str) -> tuple[str, int]:
    """Where a producer's file goes, `input/<dataset>/<producer>/<name>`, and its declared size (the presigned URL
    signs it, so S3 takes exactly that many bytes): 400 for a missing or bad name or size, 413 past
    MAX_FILE_BYTES."""
    query = event.get("queryStringParameters") or {}
    name = file_name(str(query.get("name") or ""), "?name=...")
    size = str(query.get("size") or "")
    if not size.isdigit() or int(size) == 0:
        raise Refusal(400, f"size {size!r} must be the file's size in bytes, a positive integer (?size=...)")
    if int(size) > MAX_FILE_BYTES:
        raise Refusal(413, f"a file of {size} bytes: at most {MAX_FILE_BYTES} through the API")
    return producer_file(dataset, producer, name), int(size)


def producer_file(dataset: str, producer: str, name: str) -> str:
    """The raw key of a file a producer sends: its name in the producer's folder of the dataset (see `sent_by`)."""
    return f"{INPUT_PREFIX}{dataset}/{producer}/{name}"


def file_name(name: str, where: str) -> str:
    """A file's name in a producer's folder, or a Refusal (400) saying what a name may be and `where` it goes."""
    if not _FILE_NAME.fullmatch(name) or name in (".", ".."):
        raise Refusal(400, f"file name {name!r} must be 1 to 200 letters, digits, '.', '_' and '-', starting with a "
                           f"letter or digit ({where})")
    return name


def process_id(event: Mapping[str, Any]) -> str:
    """The process id a status request names (a raw object version's, as `lakebox status` shows it): 400 when it
    is not one."""
    value = str((event.get("pathParameters") or {}).get("process_id") or "")
    if not _PROCESS_ID.fullmatch(value):
        raise Refusal(400, f"{value!r} is not a process id: 32 lowercase hexadecimal digits")
    return value


def file_status(records: list[dict[str, Any]], producer: str, asked: str) -> dict[str, Any]:
    """The status row of a file `producer` sent, folded from its stage records (one process's, or every version of
    one key's: the latest version then), with what it still waits for (`waiting`, null once final). 404 when there
    is no such file or another producer sent it: a producer learns nothing of files not its own."""
    row = next((row for row in fold_status(records) if sent_by(row.key, producer)), None)
    if row is None:
        raise Refusal(404, f"no file {asked} sent by producer {producer} (a file is known once ingestion records it)")
    waiting = missing(row)
    return {**row.to_json(), "waiting": waiting, "final": waiting is None}


def sent_by(raw_key: str, producer: str) -> bool:
    """Whether a raw file is one `producer` sent through the API (its key is `input/<dataset>/<producer>/...`)."""
    parts = raw_key.split("/")
    return len(parts) >= 4 and f"{parts[0]}/" == INPUT_PREFIX and parts[2] == producer
