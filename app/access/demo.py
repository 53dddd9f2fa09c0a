"""The demo's accounts: one per role, listed with their passwords in the README.

These exist only in the demo (``audit-tools demo``): the service itself ships with no
accounts at all. Everyone shares one authenticator secret, already confirmed, so a
person trying the demo adds it to an authenticator app once and can sign in as any
role, and browser tests can compute codes with pyotp. Never load the demo into a
database real people use: the passwords and the secret are public.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import service
from app.access.models import Role, User
from app.agencies.models import Agency
from app.clock import utcnow

# Base32; also written in the README. Public, so for the demo only.
DEMO_TOTP_SECRET = "WESTSHIREDEMO234WESTSHIREDEMO234"


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    role: Role
    password: str
    agency: str | None = None  # "police" or "social care": the demo agency they belong to


DEMO_USERS = [
    DemoUser(
        "auditor.police@example.org",
        "Priya Auditor (police)",
        Role.AUDITOR,
        "demo police auditor 7413",
        "police",
    ),
    DemoUser(
        "auditor.socialcare@example.org",
        "Sam Auditor (social care)",
        Role.AUDITOR,
        "demo social care auditor 2961",
        "social care",
    ),
    DemoUser(
        "lead.socialcare@example.org",
        "Lee Lead (social care)",
        Role.AGENCY_LEAD,
        "demo agency lead 5820",
        "social care",
    ),
    DemoUser("moderator@example.org", "Morgan Moderator", Role.MODERATOR, "demo moderator 3307"),
    DemoUser("admin@example.org", "Alex Admin", Role.ADMIN, "demo business unit 9154"),
    DemoUser(
        "practitioner@example.org", "Pat Practitioner", Role.PRACTITIONER, "demo practitioner 4688"
    ),
    DemoUser("scrutineer@example.org", "Sol Scrutineer", Role.SCRUTINEER, "demo scrutineer 6072"),
    # Chairs the demo's first subgroup (app/demo.py), which leads its audits.
    DemoUser("chair@example.org", "Casey Chair", Role.SUBGROUP_CHAIR, "demo subgroup chair 8246"),
    DemoUser("executive@example.org", "Erin Executive", Role.EXECUTIVE, "demo executive 5193"),
]


def load_demo_users(session: Session, agencies: dict[str, Agency]) -> list[User]:
    """Create the demo accounts, each with its password and the shared, confirmed
    authenticator secret. ``agencies`` maps "police" and "social care" to the demo's
    agencies. Accounts that already exist are left as they are."""
    made = []
    for demo in DEMO_USERS:
        if session.scalar(select(User.id).where(User.email == demo.email)) is not None:
            continue
        user = service.create_user(
            session,
            email=demo.email,
            display_name=demo.display_name,
            roles={demo.role},
            agency_id=agencies[demo.agency].id if demo.agency else None,
            password=demo.password,
        )
        user.totp_secret = DEMO_TOTP_SECRET
        user.totp_confirmed_at = utcnow()
        made.append(user)
    session.flush()
    return made
