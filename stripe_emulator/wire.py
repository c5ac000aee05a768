"""Stripe's wire format, as the emulator reads and writes it.

Requests arrive form-encoded with bracketed keys (`metadata[booking_id]=42`,
`line_items[0][price_data][unit_amount]=5000`, `expand[]=payment_intent` or `expand[0]=...`). The SDK
always sends lists indexed, curl users often send `[]`; both decode to a list here.

Each endpoint declares the parameters it accepts as a small schema (`Obj`, `ListOf`, `Int`, `Str`, `Bool`,
`Metadata`). `validate` turns the decoded strings into Python values and answers like Stripe does: an
unknown key is `parameter_unknown`, a missing required one `parameter_missing`, a bad integer
`parameter_invalid_integer`, all 400 `invalid_request_error` naming the parameter in `param`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

_KEY_PART = re.compile(r"\[([^\]]*)\]")


class StripeApiError(Exception):
    """An error answered in Stripe's shape: `{"error": {"type", "code", "message", "param"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def resource_missing(kind: str, object_id: str, *, param: str = "id") -> StripeApiError:
    return StripeApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def decode_form(body: str) -> dict[str, Any]:
    """Decode a form body (or query string) into nested dicts; list indexes stay string keys for now."""
    decoded: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        head, _, rest = raw_key.partition("[")
        parts = [head, *_KEY_PART.findall("[" + rest)] if rest else [head]
        node = decoded
        for depth, part in enumerate(parts):
            is_last = depth == len(parts) - 1
            if part == "":
                # `expand[]=a&expand[]=b`: the next free index.
                part = str(len(node))
            if is_last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return decoded


# Schema nodes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    required: bool = False

    def convert(self, value: Any, name: str) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Str(Param):
    choices: tuple[str, ...] = ()
    max_length: int = 5000

    def convert(self, value: Any, name: str) -> str:
        if not isinstance(value, str):
            raise StripeApiError(400, f"Invalid string: {name}", code="parameter_invalid_string", param=name)
        if self.choices and value not in self.choices:
            raise StripeApiError(
                400,
                f"Invalid {name}: must be one of {', '.join(self.choices)}",
                code="parameter_invalid_string",
                param=name,
            )
        if len(value) > self.max_length:
            raise StripeApiError(
                400,
                f"Invalid string: {value[:20]}...; must be at most {self.max_length} characters",
                code="parameter_invalid_string",
                param=name,
            )
        return value


@dataclass(frozen=True)
class Int(Param):
    minimum: int | None = None

    def convert(self, value: Any, name: str) -> int:
        if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
            raise StripeApiError(
                400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name
            )
        number = int(value)
        if self.minimum is not None and number < self.minimum:
            raise StripeApiError(
                400,
                f"This value must be greater than or equal to {self.minimum}.",
                code="parameter_invalid_integer",
                param=name,
            )
        return number


@dataclass(frozen=True)
class Bool(Param):
    def convert(self, value: Any, name: str) -> bool:
        if value not in ("true", "false"):
            raise StripeApiError(
                400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name
            )
        return value == "true"


@dataclass(frozen=True)
class Metadata(Param):
    """Stripe's limits: 50 keys, key up to 40 characters, value up to 500; an empty value unsets a key."""

    def convert(self, value: Any, name: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise StripeApiError(400, "Invalid hash", code="parameter_invalid_hash", param=name)
        if len(value) > 50:
            raise StripeApiError(400, "Metadata can have at most 50 keys.", param=name)
        result: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(item, str):
                raise StripeApiError(400, "Metadata values must be strings.", param=f"{name}[{key}]")
            if len(key) > 40:
                raise StripeApiError(
                    400, "Metadata keys can have at most 40 characters.", param=f"{name}[{key}]"
                )
            if len(item) > 500:
                raise StripeApiError(
                    400, "Metadata values can have at most 500 characters.", param=f"{name}[{key}]"
                )
            if item != "":
                result[key] = item
        return result


@dataclass(frozen=True)
class Obj(Param):
    fields: dict[str, Param] = field(default_factory=dict)

    def convert(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise StripeApiError(400, f"Invalid object: {name}", code="parameter_invalid_hash", param=name)
        return validate_fields(self.fields, value, prefix=name)


@dataclass(frozen=True)
class ListOf(Param):
    item: Param = field(default_factory=Str)

    def convert(self, value: Any, name: str) -> list[Any]:
        if not isinstance(value, dict) or not all(key.isdigit() for key in value):
            raise StripeApiError(400, f"Invalid array: {name}", code="parameter_invalid_array", param=name)
        return [self.item.convert(value[key], f"{name}[{key}]") for key in sorted(value, key=int)]


def validate_fields(fields: dict[str, Param], values: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """Check `values` against `fields` and convert them; raise the error Stripe would answer."""

    def qualified(key: str) -> str:
        return f"{prefix}[{key}]" if prefix else key

    for key in values:
        if key not in fields:
            raise StripeApiError(
                400,
                f"Received unknown parameter: {qualified(key)}",
                code="parameter_unknown",
                param=qualified(key),
            )
    converted: dict[str, Any] = {}
    for key, spec in fields.items():
        if key not in values or values[key] == "":
            if spec.required:
                raise StripeApiError(
                    400,
                    f"Missing required param: {qualified(key)}.",
                    code="parameter_missing",
                    param=qualified(key),
                )
            continue
        converted[key] = spec.convert(values[key], qualified(key))
    return converted


def expand_paths(params: dict[str, Any]) -> list[str]:
    """The `expand` list of a decoded request (query or body), as dotted paths."""
    raw = params.get("expand")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, dict):
        return [raw[key] for key in sorted(raw, key=lambda key: int(key) if key.isdigit() else 0)]
    return list(raw)
