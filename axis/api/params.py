"""Parameter types shared by the routers: every number and date a client sends is typed and
range-checked here, so that it is refused with a 422 before it reaches a query (an id past
64 bits overflowed SQLite's integers into a 500; a year-9999 date overflowed the date range).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, Field

from axis.domain import EARLIEST_DAY, LATEST_DAY

MAX_ROW_ID = 2**63 - 1  # the largest id a BIGINT (PostgreSQL) or INTEGER (SQLite) holds


def _day_in_range(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"dates run from {EARLIEST_DAY} to {LATEST_DAY}")
    return value


RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
Day = Annotated[date, AfterValidator(_day_in_range)]

InboxCursor = Annotated[
    int | None,
    Query(ge=0, le=MAX_ROW_ID, description="`next_cursor` of the previous page"),
]
FromDay = Annotated[Day | None, Query(alias="from")]
ToDay = Annotated[Day | None, Query(alias="to")]
