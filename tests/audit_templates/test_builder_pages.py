"""Admin: building a template in the browser, previewing it and publishing it."""

from __future__ import annotations

import re

import pytest

from app.access import service as access
from app.access.models import Role
from app.audit_templates import editing
from app.audit_templates import service as templates
from app.audit_templates.models import AnswerType, TemplateStatus
from app.auditlog.models import AuditEvent
from tests.helpers.access import browse_as
from tests.helpers.factories import make_template

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def admin(anonymous_client, db):
    user = access.create_user(db, email="a@example.org", display_name="A", roles={Role.ADMIN})
    browse_as(anonymous_client, db, user)
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    db.commit()
    return anonymous_client


def token(client, path="/admin/templates/new") -> str:
    return CSRF.search(client.get(path).text).group(1)


def post(client, path, **data):
    return client.post(path, data={"csrf_token": token(client), **data}, follow_redirects=False)


def version_id_from(response) -> int:
    return int(re.search(r"/admin/template-versions/(\d+)", response.headers["location"]).group(1))


def test_build_preview_and_publish_a_template(admin, db):
    # Create: the error summary first, then a draft with a shipped scale.
    missing = post(admin, "/admin/templates/new")
    assert missing.status_code == 422
    for field in ("name", "overall_grade", "evidence_boxes", "scale"):
        assert f'href="#{field}"' in missing.text
    created = post(
        admin,
        "/admin/templates/new",
        name="Neglect: early help",
        theme="Neglect",
        overall_grade="yes",
        evidence_boxes="yes",
        scale="ofsted",
    )
    assert created.status_code == 303
    vid = version_id_from(created)
    version = templates.get_version(db, version_id=vid)
    assert version.status == TemplateStatus.DRAFT and version.theme == "Neglect"
    assert [lv.code for lv in version.scale.levels] == ["O", "G", "RI", "I"]

    # Publishing an empty draft is refused, naming what is missing.
    refused = post(admin, f"/admin/template-versions/{vid}/publish")
    assert refused.status_code == 422
    assert 'href="#key-areas"' in refused.text and "Add at least one key area" in refused.text

    # A key area, then its questions (the form leads straight to the first question).
    page = f"/admin/template-versions/{vid}/key-areas/new"
    assert post(admin, page, title="", graded="yes").status_code == 422
    added = post(admin, page, title="Early help assessment", graded="yes")
    assert added.status_code == 303
    question_page = added.headers["location"]
    no_options = post(
        admin,
        question_page,
        prompt="Which tool?",
        type="single_choice",
        required="yes",
        options="Graded Care Profile",
    )
    assert no_options.status_code == 422
    assert "Enter at least two different options" in no_options.text
    another = post(
        admin,
        question_page,
        prompt="Which tool was used?",
        type="single_choice",
        required="yes",
        options="Graded Care Profile\n\nOther\n",
        then="another",
    )
    assert another.headers["location"] == question_page  # to add another, with a banner
    assert "The question has been added. Add another." in admin.get(question_page).text
    post(
        admin,
        question_page,
        prompt="Was the child seen alone?",
        type="yes_partly_no",
        required="no",
        guidance="Look at the visit records.",
        then="done",
    )
    version = templates.get_version(db, version_id=vid)
    [area] = version.key_areas
    assert [(q.prompt, q.answer_type, q.required, q.options) for q in area.questions] == [
        ("Which tool was used?", AnswerType.SINGLE_CHOICE, True, ["Graded Care Profile", "Other"]),
        ("Was the child seen alone?", AnswerType.YES_PARTLY_NO, False, []),
    ]

    # The builder shows it all; the preview shows it as an auditor will see it.
    builder = admin.get(f"/admin/template-versions/{vid}")
    assert "Early help assessment" in builder.text and "Was the child seen alone?" in builder.text
    preview = admin.get(f"/admin/template-versions/{vid}/preview")
    assert "This is how auditors will see" in preview.text
    area_preview = admin.get(f"/admin/template-versions/{vid}/preview/{area.id}")
    assert area_preview.status_code == 200
    assert "Graded Care Profile" in area_preview.text and "What went well" in area_preview.text
    assert "Requires improvement to be good" in area_preview.text  # the grade on its scale

    published = post(admin, f"/admin/template-versions/{vid}/publish")
    assert published.status_code == 303
    assert templates.get_version(db, version_id=vid).status == TemplateStatus.PUBLISHED
    # A published version has no edit forms and refuses changes; a new version copies it.
    assert admin.get(f"/admin/template-versions/{vid}/details").status_code == 409
    assert post(admin, f"/admin/key-areas/{area.id}/delete").status_code == 409
    new = post(admin, f"/admin/template-versions/{vid}/new-version")
    new_id = version_id_from(new)
    copy = templates.get_version(db, version_id=new_id)
    assert copy.number == 2 and copy.status == TemplateStatus.DRAFT
    assert [q.prompt for q in copy.key_areas[0].questions] == [
        "Which tool was used?",
        "Was the child seen alone?",
    ]
    actions = {
        e.action
        for e in db.query(AuditEvent).filter(
            AuditEvent.object_type.in_(["template_version", "key_area", "question"])
        )
    }
    assert {
        "template.create_draft",
        "key_area.create",
        "question.create",
        "template.publish",
        "template.new_version",
    } <= actions


def test_change_the_scale_with_errors_shown_by_level(admin, db):
    version = make_template(db, published=False)
    db.commit()
    page = f"/admin/template-versions/{version.id}/scale"
    form = admin.get(page).text
    assert 'value="' + version.scale.levels[0].code + '"' in form
    clash = post(
        admin,
        page,
        name="Three",
        **{
            "level-0-code": "A",
            "level-0-label": "Good",
            "level-1-code": "A",
            "level-1-label": "Fair",
            "level-2-code": "",
            "level-2-label": "Poor",
        },
    )
    assert clash.status_code == 422
    assert (
        'href="#level-1-code"' in clash.text and "Each level needs a different code" in clash.text
    )
    assert 'href="#level-2-code"' in clash.text
    saved = post(
        admin,
        page,
        name="Three",
        **{
            "level-0-code": "G",
            "level-0-label": "Good",
            "level-2-code": "RI",
            "level-2-label": "Requires improvement",  # a gap is fine
            "level-3-code": "I",
            "level-3-label": "Inadequate",
            "level-3-description": "Harm",
        },
    )
    assert saved.status_code == 303
    scale = templates.get_version(db, version_id=version.id).scale
    assert [(lv.code, lv.description) for lv in scale.levels] == [
        ("G", ""),
        ("RI", ""),
        ("I", "Harm"),
    ]
    one = post(admin, page, name="One", **{"level-0-code": "X", "level-0-label": "Only"})
    assert one.status_code == 422 and "Enter at least two levels" in one.text


def test_move_rename_and_delete_key_areas_and_questions(admin, db):
    version = make_template(db, published=False)
    db.commit()
    first, second = version.key_areas
    question = first.questions[0]  # read now: a refusal's rollback expires what was loaded
    moved = post(
        admin, f"/admin/key-areas/{second.id}", title=second.title, graded="no", position="1"
    )
    assert moved.status_code == 303
    areas = templates.get_version(db, version_id=version.id).key_areas
    assert [k.id for k in areas] == [second.id, first.id] and not areas[0].graded
    clash = post(admin, f"/admin/key-areas/{second.id}", title=first.title, graded="yes")
    assert clash.status_code == 409 and "A key area with this title already exists" in clash.text
    again = post(
        admin,
        f"/admin/template-versions/{version.id}/key-areas/new",
        title=first.title,
        graded="yes",
    )
    assert again.status_code == 409 and "A key area with this title already exists" in again.text

    edit = admin.get(f"/admin/questions/{question.id}")
    assert question.prompt in edit.text
    changed = post(
        admin,
        f"/admin/questions/{question.id}",
        prompt="Reworded?",
        type="free_text",
        required="yes",
    )
    assert changed.status_code == 303
    assert templates.get_version(db, version_id=version.id).key_areas[1].questions[0].prompt == (
        "Reworded?"
    )
    count = len(first.questions)
    assert post(admin, f"/admin/questions/{question.id}/delete").status_code == 303
    assert len(editing.get_key_area(db, key_area_id=first.id)[1].questions) == count - 1
    assert post(admin, f"/admin/key-areas/{first.id}/delete").status_code == 303
    assert [k.id for k in templates.get_version(db, version_id=version.id).key_areas] == [second.id]


def test_change_details(admin, db):
    version = make_template(db, published=False)
    db.commit()
    page = f"/admin/template-versions/{version.id}/details"
    bad = post(admin, page, theme="x" * 201, overall_grade="yes", evidence_boxes="yes")
    assert bad.status_code == 422 and 'href="#theme"' in bad.text
    changed = post(
        admin, page, theme="Neglect", method="Dip sample", overall_grade="no", evidence_boxes="no"
    )
    assert changed.status_code == 303
    saved = templates.get_version(db, version_id=version.id)
    assert (saved.theme, saved.method, saved.has_overall_grade, saved.has_evidence_boxes) == (
        "Neglect",
        "Dip sample",
        False,
        False,
    )


def test_a_name_in_use_is_refused_on_its_field(admin, db):
    version = make_template(db)
    db.commit()
    clash = post(
        admin,
        "/admin/templates/new",
        name=version.name,
        overall_grade="yes",
        evidence_boxes="yes",
        scale="own",
    )
    assert clash.status_code == 409
    assert 'href="#name"' in clash.text and "already exists" in clash.text


def test_unknown_ids_are_not_found_and_others_are_refused(admin, anonymous_client, db):
    assert admin.get("/admin/template-versions/999999").status_code == 404
    assert admin.get("/admin/questions/999999").status_code == 404
    version = make_template(db)
    db.commit()
    assert admin.get(f"/admin/template-versions/{version.id}/preview/999999").status_code == 404
    user = access.create_user(db, email="m@example.org", display_name="M", roles={Role.MODERATOR})
    db.commit()
    browse_as(admin, db, user)
    assert admin.get("/admin/templates").status_code == 403
