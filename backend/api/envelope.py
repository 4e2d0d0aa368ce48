"""The one response shape: `{"success", "data", "error", "meta"}`, and clean JSON for it.

numpy scalars and arrays, pandas values, NaN and infinities, datetimes (ISO 8601 UTC), enums,
paths and dataclasses all serialise without a custom encoder at each call site.
"""

from __future__ import annotations

import dataclasses
import json
import math
from contextvars import ContextVar
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: ContextVar[str | None] = ContextVar("courtside_request_id", default=None)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z; naive datetimes are UTC (SQLite hands them back naive)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def to_jsonable(value: Any) -> Any:
    """Plain JSON values for anything the services return; NaN and infinities become null."""
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [to_jsonable(v) for v in items]
    module = type(value).__module__.split(".")[0]
    if module == "pandas":  # before datetime: pd.NaT and pd.Timestamp are datetimes too
        return _pandas_jsonable(value)
    if module == "numpy":
        return to_jsonable(value.tolist() if hasattr(value, "tolist") else value.item())
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump())
    return str(value)


def _pandas_jsonable(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="records"))
    if isinstance(value, pd.Series | pd.Index):
        return to_jsonable(value.tolist())
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else iso_utc(value.to_pydatetime())
    if pd.isna(value):  # pd.NA, pd.NaT
        return None
    return str(value)


def meta(pagination: dict[str, int] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "timestamp": iso_utc(datetime.now(UTC)),
        "request_id": request_id_var.get(),
    }
    if pagination is not None:
        data["pagination"] = pagination
    return data


def pagination(*, page: int, page_size: int, total: int) -> dict[str, int]:
    return {"page": page, "page_size": page_size, "total": total, "pages": -(-total // page_size)}


def _leaf(value: Any) -> Any:
    """json.dumps' `default`: a value json cannot write itself (datetime, numpy, enum...)."""
    converted = to_jsonable(value)
    if converted is value:
        raise TypeError(f"cannot serialise {type(value).__name__}")
    return converted


class EnvelopeResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        options: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}
        try:
            # Fast path: only the values json cannot write go through to_jsonable.
            text = json.dumps(content, allow_nan=False, default=_leaf, **options)
        except ValueError:  # a NaN or infinity somewhere: clean the whole document
            text = json.dumps(to_jsonable(content), allow_nan=False, **options)
        return text.encode("utf-8")


def ok(
    data: Any, *, status_code: int = 200, page: dict[str, int] | None = None
) -> EnvelopeResponse:
    return EnvelopeResponse(
        {"success": True, "data": data, "error": None, "meta": meta(page)},
        status_code=status_code,
    )


def fail(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> EnvelopeResponse:
    return EnvelopeResponse(
        {
            "success": False,
            "data": None,
            "error": {"code": code, "message": message, "details": details},
            "meta": meta(),
        },
        status_code=status_code,
        headers=headers,
    )
