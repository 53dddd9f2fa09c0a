"""The people of an audit month, for locust: run by ``bench/load.py``, which builds the
data, signs everyone in and hands each their session in the plan (``LOAD_PLAN``).

Every person browses as a browser does: pages by their links, forms posted whole (every
field the page holds, its CSRF token among them) with one thing changed, a redirect
after a post followed at once by the page it names. Before every other page or post
the person thinks for 1-3 s. The requests are named by page, so locust reports each
page on its own line.

What each does, and how often (task weights):

* Auditors (30 of 50) draft returns: 4 in 5 rounds open My work, one of their returns'
  task list, one of its key areas, change the evidence of what went well and save it as
  a draft ("Save and come back later": a real POST of the form), then land on the task
  list again; 1 in 5 look at the progress of the audit instead (the audit's overview).
  Saving is what the weeks before a deadline are made of, so most rounds save.
* Moderators (8) sit in the moderation meeting: 3 in 4 rounds page through the meeting
  view, their own child and then two others of the audit (reading is most of a
  meeting); 1 in 4 record a moderated grade on their own child's page: one decision
  changed (agree with the agency's grade, or change it with a reason), the page posted
  whole, then shown again.
* Practitioners (12) use the library: browse it and open a briefing (2), search it
  (2), or open a briefing and download its PDF (1).

Which person of each kind a user is comes from the plan, in order: as many users of
each kind as the plan has people (locust's ``fixed_count``).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from html.parser import HTMLParser
from pathlib import Path

from locust import HttpUser, between, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
PEOPLE = {role: itertools.cycle(people) for role, people in PLAN["people"].items()}
WENT_WELL = [
    "The concern was recognised on the day it arose and the referral was made the same day.",
    "The referral set out the history well, so the Front Door could see the pattern.",
    "Information about other adults in the household was shared at the strategy discussion.",
    "The child was seen alone and their words are recorded in full.",
    "The safety plan named who would do what by when, including our agency's checks.",
]
REASON = "The evidence describes what was planned but not whether it happened."


class Form:
    """A form as the page holds it: what a browser would send, buttons aside."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.fields: list[list] = []  # [name, value, kind, checked]

    def radios(self, prefix: str) -> dict[str, list[list]]:
        groups: dict[str, list[list]] = {}
        for field in self.fields:
            if field[2] == "radio" and field[0].startswith(prefix):
                groups.setdefault(field[0], []).append(field)
        return groups

    def data(self, changes: dict[str, str], button: tuple[str, str] | None = None) -> list:
        """The fields to post, with ``changes`` made (a radio group's value chooses
        that radio) and ``button`` as the one pressed."""
        sent = []
        for name, value, kind, checked in self.fields:
            if kind in ("radio", "checkbox"):
                if (changes[name] == value) if name in changes else checked:
                    sent.append((name, value))
            elif kind != "button":
                sent.append((name, changes.get(name, value)))
        return sent + ([button] if button else [])


class FormReader(HTMLParser):
    """Every <form> of a page with its inputs, textareas and selects."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._textarea: list | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action") or ""))
        elif not self.forms:
            return
        elif tag == "option" and self._select is not None:
            if "selected" in a or not self._has(self._select):
                self._set(self._select, a.get("value") or "")
        elif "name" not in a:
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                field = [a["name"], a.get("value", "on"), kind, "checked" in a]
            elif kind in ("submit", "button", "image", "reset"):
                field = [a["name"], a.get("value", ""), "button", False]
            else:
                field = [a["name"], a.get("value") or "", "value", False]
            self.forms[-1].fields.append(field)
        elif tag == "textarea":
            self._textarea = [a["name"], "", "value", False]
            self.forms[-1].fields.append(self._textarea)
        elif tag == "select":
            self._select = a["name"]
        elif tag == "button":
            self.forms[-1].fields.append([a["name"], a.get("value", ""), "button", False])

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def _has(self, name: str) -> bool:
        return any(f[0] == name for f in self.forms[-1].fields)

    def _set(self, name: str, value: str) -> None:
        for field in self.forms[-1].fields:
            if field[0] == name:
                field[1] = value
                return
        self.forms[-1].fields.append([name, value, "value", False])


def form_of(html: str, action: str) -> Form:
    reader = FormReader()
    reader.feed(html)
    for form in reader.forms:
        if action in form.action:
            return form
    raise LookupError(f"no form posting to {action}")


class Person(HttpUser):
    """Someone signed in already (the driver did it through the pages): their session
    cookie, and the address they come from (X-Forwarded-For, as the reverse proxy says).
    Locust waits 1-3 s between rounds; within a round, each page but the first comes
    after the same think time, and a redirect is followed at once, as a browser does."""

    abstract = True
    wait_time = between(1, 3)
    role = ""

    def on_start(self) -> None:
        self.me = next(PEOPLE[self.role])
        self.client.cookies.set(PLAN["cookie"], self.me["cookie"])
        self.client.headers["X-Forwarded-For"] = self.me["address"]

    def page(self, path: str, name: str, *, think: bool = True) -> str:
        """GET a page; anything but 200 (a redirect to sign in, say) is a failure."""
        if think:
            self.wait()
        with self.client.get(
            path, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 200:
                return response.text
            response.failure(f"{response.status_code} from {path}")
            return ""

    def post(self, form: Form, data: list, name: str) -> bool:
        """POST a form as the browser does (after the think time of filling it in, its
        origin named); the page should answer 303."""
        self.wait()
        with self.client.post(
            form.action,
            data=data,
            name=name,
            allow_redirects=False,
            catch_response=True,
            headers={"Origin": self.host},
        ) as response:
            if response.status_code == 303:
                return True
            response.failure(f"{response.status_code} from {form.action}: {response.text[:200]}")
            return False


class Auditor(Person):
    fixed_count = len(PLAN["people"]["auditor"])
    role = "auditor"

    @task(4)
    def draft_an_answer(self) -> None:
        self.page("/my-work", "auditor: my work", think=False)
        return_ = random.choice(self.me["returns"])
        tasks = self.page(f"/returns/{return_['id']}", "auditor: return task list")
        areas = re.findall(rf'href="(/returns/{return_["id"]}/areas/\d+)"', tasks)
        area = self.page(random.choice(areas), "auditor: key area") if areas else ""
        if not area:
            return
        form = form_of(area, "/areas/")
        data = form.data({"ev-went_well": random.choice(WENT_WELL)}, ("then", "later"))
        if self.post(form, data, "auditor: save draft (POST)"):
            self.page(f"/returns/{return_['id']}", "auditor: return task list", think=False)

    @task(1)
    def look_at_progress(self) -> None:
        return_ = random.choice(self.me["returns"])
        self.page(f"/audits/{return_['audit']}", "auditor: audit progress", think=False)


class Moderator(Person):
    fixed_count = len(PLAN["people"]["moderator"])
    role = "moderator"

    def meeting(self, child: int, *, think: bool = True) -> str:
        path = f"/audits/{self.me['audit']}/moderation/meeting?child={child}"
        return self.page(path, "moderator: meeting view", think=think)

    @task(3)
    def page_through(self) -> None:
        self.meeting(self.me["child"], think=False)
        others = [c for c in self.me["children"] if c != self.me["child"]]
        for child in random.sample(others, min(2, len(others))):
            self.meeting(child)

    @task(1)
    def record_a_grade(self) -> None:
        shown = self.meeting(self.me["child"], think=False)
        if not shown:
            return
        form = form_of(shown, "/moderation/meeting")
        name, radios = random.choice(list(form.radios("g-").items()))
        agree, other = radios[0][1], radios[1][1]  # the agency's own grade comes first
        chosen = next((r[1] for r in radios if r[3]), None)
        reason = "r-" + name.removeprefix("g-")
        # A changed decision each time: agree if it was changed, change it otherwise.
        changes = {name: agree, reason: ""} if chosen == other else {name: other, reason: REASON}
        if self.post(form, form.data(changes, ("then", "stay")), "moderator: record grade (POST)"):
            self.meeting(self.me["child"], think=False)


class Practitioner(Person):
    fixed_count = len(PLAN["people"]["practitioner"])
    role = "practitioner"

    def open_a_briefing(self) -> str:
        library = self.page("/library", "practitioner: library", think=False)
        found = re.findall(r'href="(/library/\d+)"', library)
        return self.page(random.choice(found), "practitioner: a briefing") if found else ""

    @task(2)
    def browse(self) -> None:
        self.open_a_briefing()

    @task(2)
    def search(self) -> None:
        word = random.choice(PLAN["search"])
        self.page(f"/library?q={word}", "practitioner: search", think=False)

    @task(1)
    def download(self) -> None:
        pdfs = re.findall(r'href="(/library/versions/\d+/download)"', self.open_a_briefing())
        if not pdfs:
            return
        self.wait()
        with self.client.get(
            pdfs[0], name="practitioner: download PDF", catch_response=True
        ) as response:
            if response.status_code != 200 or not response.content.startswith(b"%PDF"):
                response.failure(f"{response.status_code}, not a PDF")
