"""Annotated dependency aliases used by every router."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.db import get_session

# scope="function": the commit runs when the endpoint returns, before the response
# is sent, so a failed commit is reported to the client instead of lost silently.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
