"""Page parameters and the page envelope every list endpoint returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class PageParams:
    page: int = 1
    per_page: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


async def page_params(  # async: plain arithmetic needs no thread
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page (at most 200).")
    ] = 50,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


PageDep = Annotated[PageParams, Depends(page_params)]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @classmethod
    def build(cls, rows: list, total: int, params: PageParams):
        """Wrap ORM rows (validated into the item model by attribute) in the envelope."""
        return cls.model_validate(
            {"items": rows, "total": total, "page": params.page, "per_page": params.per_page},
            from_attributes=True,
        )


def count_rows(session: Session, stmt: Select) -> int:
    """Total rows ``stmt`` would return, ignoring its ordering and paging."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def page_of(session: Session, stmt: Select, params: PageParams) -> tuple[list, int]:
    """One page of ORM objects from ``stmt`` and the total count."""
    total = count_rows(session, stmt)
    items = list(session.scalars(stmt.limit(params.per_page).offset(params.offset)))
    return items, total
