"""Admin: the template builder's pages use every rule a template can have (issue 16):
each kind of answer with its rules, a condition on an earlier answer, questions about
the whole case, the boxes of evidence, and the starting scales; a service's refusal
shows on the field it is about."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine

from app.access import service as access
from app.access.models import Role
from app.audit_templates import editing
from app.audit_templates import service as templates
from app.audit_templates.models import DEFAULT_BOXES, AnswerType, EvidenceBox
from app.audit_templates.schemas import QuestionIn
from tests.helpers.access import browse_as
from tests.helpers.factories import make_template

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def admin(anonymous_client, db):
    user = access.create_user(db, email="a@example.org", display_name="A", roles={Role.ADMIN})
    browse_as(anonymous_client, db, user)
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    db.commit()
    return anonymous_client


@pytest.fixture
def draft(db):
    version = make_template(db, published=False)
    db.commit()
    return version


def post(client, path, **data):
    token = CSRF.search(client.get("/admin/templates/new").text).group(1)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def fresh(db, version_id: int):
    return templates.get_version(db, version_id=version_id)


def summary_links(html: str) -> list[str]:
    """The error summary's links, in order."""
    found = re.search(r'govuk-error-summary__list">(.*?)</ul>', html, re.S)
    return re.findall(r'href="(#[^"]+)"', found.group(1)) if found else []


def add_key(db, version, question_index: int, key: str) -> None:
    """Give a question of the first key area a name for conditions (the service)."""
    version = fresh(db, version.id)
    area = version.key_areas[0]
    question = area.questions[question_index]
    editing.update_question(
        db, version=version, key_area=area, question=question, changes={"key": key}
    )
    db.commit()


def add_risk_level(db, version) -> None:
    """A single choice question named risk_level, last in the first key area."""
    version = fresh(db, version.id)
    editing.add_question(
        db,
        version=version,
        key_area=version.key_areas[0],
        data=QuestionIn(
            prompt="What was the level of risk?",
            type=AnswerType.SINGLE_CHOICE,
            options=["High", "Medium", "Low"],
            key="risk_level",
            not_applicable="Not assessed",
        ),
        position=None,
    )
    db.commit()


def test_each_kind_of_answer_with_its_rules(admin, db, draft):
    area = draft.key_areas[0]
    page = f"/admin/key-areas/{area.id}/questions/new"
    form = admin.get(page).text
    for kind in ("Yes or no", "Yes, partly or no", "One choice from a list", "Free text"):
        assert kind in form
    for kind in ("A date", "A whole number", "A number", "Name for conditions"):
        assert kind in form
    assert 'value="Not applicable"' in form  # the label's default, ready to change

    common = {"required": "yes", "then": "another"}
    added = [
        post(
            admin,
            page,
            prompt="Was the case referred to MARAC?",
            type="yes_no",
            offer_not_applicable="yes",
            not_applicable="Not appropriate",
            key="referred",
            minimum="3",  # not for this kind: ignored
            **common,
        ),
        post(
            admin,
            page,
            prompt="Was the plan reviewed?",
            type="yes_partly_no",
            offer_not_applicable="yes",
            not_applicable="",  # the default words
            **common,
        ),
        post(
            admin,
            page,
            prompt="When was the child last seen?",
            type="date",
            date_rules=["not_in_future", "within_audit_period"],
            options="Left\nbehind",  # not for this kind: dropped
            **common,
        ),
        post(
            admin,
            page,
            prompt="How many agencies were involved?",
            type="integer",
            minimum="0",
            maximum="20",
            offer_not_applicable="yes",  # not for this kind: ignored
            **common,
        ),
        post(
            admin,
            page,
            prompt="Hours of direct work",
            type="number",
            minimum="0.5",
            maximum="",
            date_rules="not_in_future",  # not for this kind: ignored
            **common,
        ),
    ]
    assert [r.status_code for r in added] == [303] * 5
    questions = fresh(db, draft.id).key_areas[0].questions[3:]
    assert [
        (
            q.answer_type,
            q.not_applicable,
            q.key,
            q.options,
            q.minimum,
            q.maximum,
            q.not_in_future,
            q.within_audit_period,
        )
        for q in questions
    ] == [
        (AnswerType.YES_NO, "Not appropriate", "referred", [], None, None, False, False),
        (AnswerType.YES_PARTLY_NO, "Not applicable", None, [], None, None, False, False),
        (AnswerType.DATE, None, None, [], None, None, True, True),
        (AnswerType.INTEGER, None, None, [], "0", "20", False, False),
        (AnswerType.NUMBER, None, None, [], "0.5", None, False, False),
    ]

    builder = admin.get(f"/admin/template-versions/{draft.id}").text
    for words in (
        "Not applicable offered as ‘Not appropriate’",
        "Not applicable offered as ‘Not applicable’",
        "Name for conditions: referred",
        "Not in the future",
        "Within the audit period",
        "Between 0 and 20",
        "At least 0.5",
        "A whole number",
    ):
        assert words in builder, words

    # The page's own checks, each on its field.
    whole = post(admin, page, prompt="How many?", type="integer", required="yes", minimum="2.5")
    assert whole.status_code == 422 and summary_links(whole.text) == ["#minimum"]
    assert "Enter the smallest answer allowed as a whole number" in whole.text
    upside_down = post(
        admin, page, prompt="How long?", type="number", required="yes", minimum="9", maximum="1"
    )
    assert summary_links(upside_down.text) == ["#maximum"]
    bad_key = post(admin, page, prompt="Why?", type="free_text", required="yes", key="Risk Level")
    assert summary_links(bad_key.text) == ["#key"]
    clash = post(
        admin,
        page,
        prompt="Which?",
        type="single_choice",
        required="yes",
        options="Yes\nNot applicable",
        offer_not_applicable="yes",
        not_applicable="not applicable",
    )
    assert summary_links(clash.text) == ["#not_applicable"]
    assert len(fresh(db, draft.id).key_areas[0].questions) == 8  # none of those was saved

    # Changing the kind of answer drops the rules the new kind does not have.
    number = questions[3]
    changed = post(
        admin,
        f"/admin/questions/{number.id}",
        prompt=number.prompt,
        type="free_text",
        required="yes",
        minimum="0",
        maximum="20",
    )
    assert changed.status_code == 303
    number = editing.get_question(db, question_id=number.id)[2]
    assert (number.answer_type, number.minimum, number.maximum) == (
        AnswerType.FREE_TEXT,
        None,
        None,
    )


def test_a_condition_chosen_on_the_page(admin, db, draft):
    add_risk_level(db, draft)
    second = draft.key_areas[1]
    page = f"/admin/key-areas/{second.id}/questions/new"
    form = admin.get(page).text
    # The earlier question with a name and choices is offered, with its answers.
    assert 'name="when-risk_level" type="checkbox" value="High"' in form
    assert 'value="not_applicable"' in form and "Not assessed" in form

    nothing_ticked = post(
        admin, page, prompt="Was MARAC held?", type="yes_no", required="yes", condition="yes"
    )
    assert nothing_ticked.status_code == 422
    assert summary_links(nothing_ticked.text) == ["#condition"]
    added = post(
        admin,
        page,
        prompt="Was MARAC held?",
        type="yes_no",
        required="yes",
        condition="yes",
        **{"when-risk_level": ["High", "Medium"]},
    )
    assert added.status_code == 303
    question = fresh(db, draft.id).key_areas[1].questions[-1]
    assert question.condition == {"question": "risk_level", "answers": ["High", "Medium"]}
    builder = admin.get(f"/admin/template-versions/{draft.id}").text
    assert "Asked only when ‘risk_level’ is High or Medium" in builder
    assert "Name for conditions: risk_level" in builder

    edit = admin.get(f"/admin/questions/{question.id}").text
    assert re.search(r'name="when-risk_level" type="checkbox" value="High" checked', edit)
    assert re.search(r'name="condition" type="checkbox" value="yes" checked', edit)
    # Answers ticked but the condition itself unticked: no condition.
    dropped = post(
        admin,
        f"/admin/questions/{question.id}",
        prompt=question.prompt,
        type="yes_no",
        required="yes",
        **{"when-risk_level": ["Low"]},
    )
    assert dropped.status_code == 303
    assert editing.get_question(db, question_id=question.id)[2].condition is None

    # A question earlier than the one with the name is not offered the condition.
    first_question = draft.key_areas[0].questions[0]
    assert "when-risk_level" not in admin.get(f"/admin/questions/{first_question.id}").text


def test_the_services_refusals_show_on_their_fields(admin, db, draft):
    add_risk_level(db, draft)
    first, second = draft.key_areas
    page = f"/admin/key-areas/{second.id}/questions/new"
    # The page offered risk_level; meanwhile it was renamed: the service refuses.
    add_key(db, draft, 3, "risk")
    stale = post(
        admin,
        page,
        prompt="Was MARAC held?",
        type="yes_no",
        required="yes",
        condition="yes",
        **{"when-risk_level": ["High"]},
    )
    assert stale.status_code == 422
    assert summary_links(stale.text) == ["#condition"]
    assert "No earlier question has the key" in stale.text
    assert 'id="condition"' in stale.text

    # A name another question already has.
    taken = post(admin, page, prompt="Why?", type="free_text", required="yes", key="risk")
    assert taken.status_code == 422 and summary_links(taken.text) == ["#key"]
    assert "Another question already has the name ‘risk’" in taken.text

    # Renaming, retyping or deleting a question another's condition depends on.
    post(
        admin,
        page,
        prompt="Was MARAC held?",
        type="yes_no",
        required="yes",
        condition="yes",
        **{"when-risk": ["High", "not_applicable"]},
    )
    target = fresh(db, draft.id).key_areas[0].questions[3]
    target_page = f"/admin/questions/{target.id}"
    same = {
        "prompt": target.prompt,
        "type": "single_choice",
        "required": "yes",
        "options": "High\nMedium\nLow",
        "offer_not_applicable": "yes",
        "not_applicable": "Not assessed",
        "key": "risk",
    }
    for change, field in [
        ({"key": ""}, "#key"),
        ({"type": "free_text"}, "#type"),
        ({"options": "Medium\nLow"}, "#options"),
        ({"offer_not_applicable": ""}, "#not_applicable"),
    ]:
        refused = post(admin, target_page, **(same | change))
        assert refused.status_code == 422, change
        assert summary_links(refused.text) == [field], change
        assert "‘Was MARAC held?’ is asked only when this question has certain answers" in (
            refused.text
        )
    deleted = post(admin, f"{target_page}/delete")
    assert deleted.status_code == 422 and summary_links(deleted.text) == ["#delete"]
    moved = post(
        admin,
        f"/admin/key-areas/{first.id}",
        title=first.title,
        graded="yes",
        position="2",
    )
    assert moved.status_code == 422 and summary_links(moved.text) == ["#position"]
    area_deleted = post(admin, f"/admin/key-areas/{first.id}/delete")
    assert area_deleted.status_code == 422 and summary_links(area_deleted.text) == ["#delete"]
    version = fresh(db, draft.id)
    assert version.key_areas[0].questions[3].key == "risk"  # nothing changed
    assert [k.id for k in version.key_areas] == [first.id, second.id]


def test_evidence_boxes_chosen_on_the_details_page(admin, db, draft):
    page = f"/admin/template-versions/{draft.id}/details"
    form = admin.get(page).text
    for box in DEFAULT_BOXES:
        assert re.search(rf'name="boxes" type="checkbox" value="{box.box}" checked', form)
        assert f'value="{box.label}"' in form
    details = {"theme": "Neglect", "overall_grade": "yes", "evidence_boxes": "yes"}
    saved = post(
        admin,
        page,
        **details,
        boxes_shown="yes",
        boxes=["went_well", "impact_on_child"],
        **{
            "box-went_well-label": "What worked",
            "box-could_be_better-label": "Ignored: not ticked",
            "box-impact_on_child-label": "",  # the usual words
            "box-impact_on_child-required": "yes",
        },
    )
    assert saved.status_code == 303
    version = fresh(db, draft.id)
    assert version.evidence_box_list == [
        EvidenceBox("went_well", "What worked", False),
        EvidenceBox("impact_on_child", "The impact on the child", True),
    ]
    builder = admin.get(f"/admin/template-versions/{draft.id}").text
    assert "What worked" in builder and "must be filled in" in builder
    again = admin.get(page).text
    assert 'value="What worked"' in again
    assert not re.search(r'value="could_be_better" checked', again)
    assert re.search(
        r'name="box-impact_on_child-required" type="checkbox" value="yes" checked', again
    )

    none_ticked = post(admin, page, **details, boxes_shown="yes")
    assert none_ticked.status_code == 422 and summary_links(none_ticked.text) == ["#boxes"]
    too_long = post(
        admin,
        page,
        **details,
        boxes_shown="yes",
        boxes="went_well",
        **{"box-went_well-label": "x" * 101},
    )
    assert summary_links(too_long.text) == ["#box-went_well-label"]

    usual = {f"box-{b.box}-label": b.label for b in DEFAULT_BOXES}
    back = post(
        admin, page, **details, boxes_shown="yes", boxes=[b.box for b in DEFAULT_BOXES], **usual
    )
    assert back.status_code == 303
    version = fresh(db, draft.id)
    assert version.evidence_box_spec is None and version.evidence_box_list == list(DEFAULT_BOXES)
    off = post(admin, page, **(details | {"evidence_boxes": "no"}), boxes_shown="yes")
    assert off.status_code == 303 and fresh(db, draft.id).evidence_box_list == []

    # A new template can choose its boxes too.
    created = post(
        admin,
        "/admin/templates/new",
        name="Organisational questionnaire",
        overall_grade="no",
        evidence_boxes="yes",
        boxes_shown="yes",
        boxes="could_be_better",
        scale="own",
        **{"box-could_be_better-label": "Learning", "box-could_be_better-required": "yes"},
    )
    assert created.status_code == 303
    vid = int(re.search(r"/admin/template-versions/(\d+)", created.headers["location"]).group(1))
    assert fresh(db, vid).evidence_box_list == [EvidenceBox("could_be_better", "Learning", True)]


def test_questions_about_the_whole_case(admin, db, draft):
    add_risk_level(db, draft)
    builder = admin.get(f"/admin/template-versions/{draft.id}").text
    assert "Questions about the whole case" in builder
    assert "There are no questions about the whole case." in builder
    page = f"/admin/template-versions/{draft.id}/case-questions/new"
    assert page in builder
    form = admin.get(page)
    assert form.status_code == 200 and "Add a question about the whole case" in form.text
    assert "when-risk_level" in form.text  # any key area's question may decide
    assert fresh(db, draft.id).case_section is None  # nothing made by looking

    refused = post(admin, page, prompt="", type="free_text", required="yes")
    assert refused.status_code == 422 and summary_links(refused.text) == ["#prompt"]
    added = post(
        admin,
        page,
        prompt="What difference has the multi-agency response made for this child?",
        type="free_text",
        required="yes",
        then="another",
    )
    assert added.status_code == 303 and added.headers["location"].endswith(page)
    conditional = post(
        admin,
        page,
        prompt="Was the risk reduced?",
        type="yes_partly_no",
        required="no",
        condition="yes",
        **{"when-risk_level": ["High"]},
    )
    assert conditional.status_code == 303
    version = fresh(db, draft.id)
    first, second = version.case_questions
    assert second.condition == {"question": "risk_level", "answers": ["High"]}
    assert [k.title for k in version.key_areas] == ["Key area 1", "Key area 2"]
    builder = admin.get(f"/admin/template-versions/{draft.id}").text
    assert first.prompt in builder and f"/admin/questions/{second.id}/delete" in builder
    assert "Asked only when ‘risk_level’ is High" in builder

    edit = admin.get(f"/admin/questions/{first.id}").text
    assert "Questions about the whole case" in edit
    changed = post(
        admin,
        f"/admin/questions/{first.id}",
        prompt="What difference has the response made?",
        type="free_text",
        required="no",
        position="2",
    )
    assert changed.status_code == 303
    assert [q.prompt for q in fresh(db, draft.id).case_questions] == [
        "Was the risk reduced?",
        "What difference has the response made?",
    ]

    # Preview: the key areas with every kind, and the page about the whole case.
    preview = admin.get(f"/admin/template-versions/{draft.id}/preview").text
    case_page = f"/admin/template-versions/{draft.id}/preview/whole-case"
    assert case_page in preview and "The whole case" in preview
    shown = admin.get(case_page)
    assert shown.status_code == 200
    assert "Was the risk reduced?" in shown.text and "Outstanding" in shown.text
    area = admin.get(f"/admin/template-versions/{draft.id}/preview/{draft.key_areas[0].id}")
    assert area.status_code == 200 and "Not assessed" in area.text

    confirm = admin.get(f"/admin/questions/{first.id}/delete")
    assert confirm.status_code == 200 and "Are you sure you want to delete" in confirm.text
    removed = post(admin, f"/admin/questions/{first.id}/delete")
    assert removed.status_code == 303
    assert [q.id for q in fresh(db, draft.id).case_questions] == [second.id]


def test_a_starting_scale(admin, db):
    form = admin.get("/admin/templates/new").text
    assert form.count("Ofsted four-point scale") == 1
    assert "Red, amber, green" in form and "Yes, partly, no" in form
    created = post(
        admin,
        "/admin/templates/new",
        name="Front door",
        overall_grade="yes",
        evidence_boxes="yes",
        scale="rag",
    )
    assert created.status_code == 303
    vid = int(re.search(r"/admin/template-versions/(\d+)", created.headers["location"]).group(1))
    assert [lv.label for lv in fresh(db, vid).scale.levels] == ["Green", "Amber", "Red"]

    page = f"/admin/template-versions/{vid}/scale"
    started = admin.get(page, params={"start": "yes-partly-no"})
    assert started.status_code == 200
    assert 'value="Partly"' in started.text and 'value="Yes, partly, no"' in started.text
    assert [lv.code for lv in fresh(db, vid).scale.levels] == ["G", "A", "R"]  # not yet saved
    unknown = admin.get(page, params={"start": "nonsense"})
    assert unknown.status_code == 422 and summary_links(unknown.text) == ["#start"]
    saved = post(
        admin,
        page,
        name="Yes, partly, no",
        **{
            "level-0-code": "Y",
            "level-0-label": "Yes",
            "level-1-code": "P",
            "level-1-label": "Partly",
            "level-2-code": "N",
            "level-2-label": "No",
        },
    )
    assert saved.status_code == 303
    assert [lv.code for lv in fresh(db, vid).scale.levels] == ["Y", "P", "N"]
