"""Validation of a sampling request: the body's fields, then its conditions against the model.

Every failure is a `RequestInvalid` naming the field (`n`, `seed`, `conditions.target`), which
the app answers with 422; nothing reaches a sampler unvalidated.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

MAX_SEED = 2**62  # well inside torch.Generator's range, also after the sampler's seed offsets


class RequestInvalid(Exception):
    """A request field is invalid: `field` names it, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class SampleRequest(BaseModel):
    """POST /v1/models/{name}/samples: how many rows, which seed, which class, which format."""

    model_config = ConfigDict(extra="forbid")

    n: StrictInt = Field(ge=1)
    seed: StrictInt | None = Field(default=None, ge=0, lt=MAX_SEED)
    conditions: dict[str, StrictStr | StrictInt | StrictFloat | StrictBool] | None = None
    format: Literal["json", "csv"] = "json"


def parse_sample_request(body: Any, *, max_rows: int, condition: str | None, classes: list | None) -> tuple[
        SampleRequest, dict[str, Any] | None]:
    """The validated request and its conditions mapped onto the model's own class values."""
    if not isinstance(body, dict):
        raise RequestInvalid("body", "must be a JSON object such as {\"n\": 100}")
    try:
        request = SampleRequest.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "body"
        raise RequestInvalid(field, error["msg"]) from None
    if request.n > max_rows:
        raise RequestInvalid("n", f"at most {max_rows} rows per request, got {request.n}")
    return request, _match_conditions(request.conditions, condition, classes)


def _match_conditions(conditions: dict[str, Any] | None, condition: str | None,
                      classes: list | None) -> dict[str, Any] | None:
    if not conditions:
        return None
    for column, value in conditions.items():
        if column != condition:
            trained = f"it is conditioned on {condition!r} only" if condition else "it has no condition column"
            raise RequestInvalid(f"conditions.{column}", f"this model cannot be conditioned on {column!r}: {trained}")
        for candidate in classes or []:
            if candidate == value or str(candidate) == str(value):
                return {column: candidate}
        raise RequestInvalid(f"conditions.{column}", f"{value!r} is not a class of {column!r}; classes: {classes}")
    return None
