"""The schema comes only from the migrations, and they match the models both ways."""

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import alembic_config, include_object
from app.models import Base
from tests.helpers.factories import downgrade_demo


def _diff(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_object}
    )
    diff = compare_metadata(context, Base.metadata)
    if connection.dialect.name == "sqlite":
        diff = _without_unread_reference_names(diff)
    return diff


def _fk_key(constraint) -> tuple:
    return (
        constraint.parent.name,
        tuple(c.name for c in constraint.columns),
        constraint.referred_table.name,
    )


def _without_unread_reference_names(diff: list) -> list:
    """SQLite adds a column to a table others refer to only by ALTER TABLE ... ADD
    COLUMN with its reference inline (copying the table would trip those references;
    e.g. audit_return.assigned_to_id), and SQLAlchemy does not read back the name of
    an inline reference: the same reference, unnamed, is not a difference."""

    def fk(entry, kind: str):
        return entry[1] if isinstance(entry, tuple) and entry[0] == kind else None

    unnamed = {_fk_key(c) for e in diff if (c := fk(e, "remove_fk")) is not None and not c.name}
    named = {_fk_key(c) for e in diff if (c := fk(e, "add_fk")) is not None}
    same = unnamed & named
    return [
        e
        for e in diff
        if not any((c := fk(e, kind)) is not None and _fk_key(c) in same for kind in KINDS)
    ]


KINDS = ("remove_fk", "add_fk")


class TestMigrations:
    def test_upgrade_head_matches_the_models(self, engine):
        with engine.connect() as connection:
            assert _diff(connection) == []

    def test_every_migration_downgrades_to_base_and_upgrades_again(self, database_factory):
        engine = make_engine(database_factory())
        try:
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), "head")
            with engine.begin() as connection:
                command.downgrade(alembic_config(connection), "base")
            with engine.connect() as connection:
                assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), "head")
            with engine.connect() as connection:
                assert _diff(connection) == []
        finally:
            engine.dispose()

    def test_the_files_sort_in_the_order_of_the_chain(self):
        # Alembic's file names start with the date, hour and minute (alembic.ini), so a
        # listing of migrations/versions reads as the history does.
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config())
        chain = [Path(r.path).name for r in reversed(list(script.walk_revisions()))]
        assert chain == sorted(chain)

    def test_a_model_change_without_a_migration_is_detected(self, engine):
        # Guards the guard: a column added to the models alone must show up as drift.
        from sqlalchemy import Column, String

        table = Base.metadata.tables["agency"]
        extra = Column("not_migrated", String(10))
        table.append_column(extra)
        try:
            with engine.connect() as connection:
                diff = _diff(connection)
            assert any(d[0] == "add_column" and d[3].name == "not_migrated" for d in diff)
        finally:
            table._columns.remove(extra)


def test_submitted_returns_get_their_first_version_when_versions_arrive(demo_database):
    """Data carried forward: the return_submission migration gives every submitted or
    moderated return of an existing database its first version, as it holds it now."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.access.policy import SYSTEM
    from app.returns.models import Return, ReturnStatus, ReturnSubmission
    from app.returns.reading import detail
    from app.returns.versions import content_of

    engine = make_engine(demo_database())
    try:
        with engine.begin() as connection:
            downgrade_demo(connection, "f5696472f3b7")  # before versions
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with Session(engine) as session:
            done = session.scalars(
                select(Return.id).where(
                    Return.status.in_([ReturnStatus.SUBMITTED, ReturnStatus.MODERATED])
                )
            ).all()
            kept = session.scalars(select(ReturnSubmission)).all()
            assert len(done) > 10 and sorted(k.return_id for k in kept) == sorted(done)
            for row in kept:
                assert row.number == 1
                found = detail(session, return_id=row.return_id, actor=SYSTEM)
                assert row.content == content_of(found)
    finally:
        engine.dispose()


def test_template_rules_leave_existing_templates_and_returns_as_they_were(demo_database):
    """Data carried forward: the template-rules migration (d4a7c2e9f1b3) widens the
    answer types and adds rules, boxes and case questions without changing what an
    existing template exports or any return reads as, or what a return still needs."""
    from sqlalchemy import select, text
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    from app.access.policy import SYSTEM
    from app.audit_templates import files
    from app.audit_templates import service as templates
    from app.audit_templates.models import TemplateVersion
    from app.returns.models import Return
    from app.returns.reading import detail
    from app.returns.validation import missing_items, template_for

    def snapshot(engine) -> dict:
        with Session(engine) as session:
            versions = session.scalars(select(TemplateVersion.id)).all()
            returns = session.scalars(select(Return).order_by(Return.id)).all()
            return {
                "exports": {
                    v: files.export_text(templates.get_version(session, version_id=v))
                    for v in versions
                },
                "returns": {r.id: detail(session, return_id=r.id, actor=SYSTEM) for r in returns},
                "missing": {
                    r.id: missing_items(
                        session, return_=r, tpl=template_for(session, r.audit_id)[1]
                    )
                    for r in returns
                },
            }

    engine = make_engine(demo_database())
    try:
        before = snapshot(engine)
        with engine.begin() as connection:
            downgrade_demo(connection, "c1e9a3f5b7d2")  # before the rules
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        after = snapshot(engine)
        assert len(before["exports"]) >= 4 and len(before["returns"]) > 10
        # The questionnaire's cases (agencies) are made again on the way back up, under
        # new ids (d5e9a3b7c1f0): the same agency, named the same, each return on its own.
        for snap in (before, after):
            for found in snap["returns"].values():
                found["child"].pop("id")
        # The Section 11 and 175 templates, which the earlier schema cannot hold, went
        # for the downgrade (downgrade_demo): every other template is as it was.
        gone = {v: text for v, text in before["exports"].items() if v not in after["exports"]}
        assert sorted(t.splitlines()[0] for t in gone.values()) == [
            f"# Section {n} self-assessment (version 1), exported from the case-audit service"
            for n in (11, 175)
        ]
        before["exports"] = {v: t for v, t in before["exports"].items() if v not in gone}
        assert after == before
        with engine.connect() as connection:
            question = connection.execute(text("SELECT id FROM question LIMIT 1")).scalar_one()
            # The widened check takes the new types and still refuses anything else.
            connection.execute(
                text("UPDATE question SET answer_type = 'yes_no' WHERE id = :id"), {"id": question}
            )
            try:
                connection.execute(
                    text("UPDATE question SET answer_type = 'colour' WHERE id = :id"),
                    {"id": question},
                )
                raise AssertionError("the answer-type check let 'colour' through")
            except IntegrityError:
                pass
            connection.rollback()
    finally:
        engine.dispose()


def test_chairs_executive_and_subscriptions_tell_no_old_news(demo_database):
    """Data carried forward: the chairs-and-Executive migration (b8e2d4f6a0c3) marks an
    action already overdue when it runs as told (it was on the tracker already), as far
    as it stands on the database's own date, so upgrading sends no burst of e-mails;
    one not yet due is left to be told. The roles' check takes the two new roles, and a
    downgrade with either held is refused rather than dropping them."""
    from datetime import date, timedelta

    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(demo_database())
    try:
        with engine.begin() as connection:
            downgrade_demo(connection, "a3c5e7f9b1d4")
            db_today = connection.execute(text("SELECT CURRENT_DATE")).scalar_one()
            db_today = date.fromisoformat(str(db_today))
            ids = (
                connection.execute(text("SELECT id FROM learning_action ORDER BY id LIMIT 4"))
                .scalars()
                .all()
            )
            assert len(ids) == 4
            dues = {
                ids[0]: (db_today - timedelta(days=1), "in_progress", "subgroup"),
                ids[1]: (db_today - timedelta(days=40), "agreed", "executive"),
                ids[2]: (db_today + timedelta(days=5), "agreed", "none"),
                ids[3]: (db_today - timedelta(days=40), "completed", "none"),
            }
            for action_id, (due_on, status, _told) in dues.items():
                connection.execute(
                    text("UPDATE learning_action SET due_on = :d, status = :s WHERE id = :id"),
                    {"d": due_on, "s": status, "id": action_id},
                )
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with engine.connect() as connection:
            told = dict(
                connection.execute(text("SELECT id, escalation_told FROM learning_action")).all()
            )
            assert {i: told[i] for i in dues} == {i: t for i, (_d, _s, t) in dues.items()}
            user = connection.execute(text("SELECT id FROM app_user LIMIT 1")).scalar_one()
            connection.execute(
                text("INSERT INTO user_role (user_id, role) VALUES (:u, 'executive')"),
                {"u": user},
            )
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.execute(
                    text("INSERT INTO user_role (user_id, role) VALUES (:u, 'emperor')"),
                    {"u": user},
                )
            connection.commit()
        with (
            pytest.raises(RuntimeError, match="subgroup chair and Executive roles"),
            engine.begin() as connection,
        ):
            command.downgrade(alembic_config(connection), "a3c5e7f9b1d4")
    finally:
        engine.dispose()


def test_assurance_questionnaires_become_audits_about_agencies_with_answers_kept(
    demo_database,
):
    """Data carried forward: before d5e9a3b7c1f0 a learning assurance questionnaire stood
    its briefing in as a child ("Briefing 12") with every agency involved; after it, the
    audit is about agencies, each agency its own case with its own return, every answer
    and submitted version as it was. The downgrade folds them back."""
    from sqlalchemy import text

    def shape(connection, audit_id: int, *, before: bool = False) -> dict:
        """The questionnaire's cases, answers and versions (``before`` the migration,
        the columns it adds are not there yet)."""
        case_agency, subject = ("NULL", "'before'") if before else ("c.agency_id", "subject")
        cases = connection.execute(
            text(
                f"SELECT c.pseudonym, {case_agency}, r.agency_id, r.id FROM audit_return r "
                "JOIN child c ON c.id = r.child_id WHERE r.audit_id = :a ORDER BY r.id"
            ),
            {"a": audit_id},
        ).all()
        answers = connection.execute(
            text(
                "SELECT a.return_id, a.question_id, a.value FROM answer a "
                "JOIN audit_return r ON r.id = a.return_id WHERE r.audit_id = :a "
                "ORDER BY a.return_id, a.question_id"
            ),
            {"a": audit_id},
        ).all()
        versions = connection.execute(
            text(
                "SELECT s.return_id, s.number FROM return_submission s "
                "JOIN audit_return r ON r.id = s.return_id WHERE r.audit_id = :a "
                "ORDER BY s.return_id, s.number"
            ),
            {"a": audit_id},
        ).all()
        subject = connection.execute(
            text(f"SELECT {subject} FROM audit WHERE id = :a"), {"a": audit_id}
        ).scalar_one()
        return {"cases": cases, "answers": answers, "versions": versions, "subject": subject}

    engine = make_engine(demo_database())
    try:
        with engine.begin() as connection:
            audit_id, briefing_id = connection.execute(
                text("SELECT assurance_audit_id, id FROM briefing WHERE assurance_audit_id > 0")
            ).first()
            # Each agency's answer to the questionnaire's first question, in its words.
            question = connection.execute(
                text(
                    "SELECT q.id FROM question q JOIN key_area k ON k.id = q.key_area_id "
                    "JOIN audit a ON a.template_version_id = k.template_version_id "
                    "WHERE a.id = :a ORDER BY k.position, q.position LIMIT 1"
                ),
                {"a": audit_id},
            ).scalar_one()
            for return_id, agency_id in connection.execute(
                text("SELECT id, agency_id FROM audit_return WHERE audit_id = :a"), {"a": audit_id}
            ).all():
                connection.execute(
                    text(
                        "INSERT INTO answer (return_id, question_id, value, updated_at) "
                        "VALUES (:r, :q, :v, CURRENT_TIMESTAMP)"
                    ),
                    {"r": return_id, "q": question, "v": f"Team briefings ({agency_id})"},
                )
            now = shape(connection, audit_id)
        agencies = {case[2] for case in now["cases"]}
        assert now["subject"] == "agency" and len(agencies) > 1
        assert len(now["answers"]) == len(agencies)
        with engine.begin() as connection:
            downgrade_demo(connection, "c4d8f2a6b0e1")
            before = shape(connection, audit_id, before=True)
        # The earlier shape: one stand-in case for the briefing, every agency involved.
        assert {(c[0], c[1]) for c in before["cases"]} == {(f"Briefing {briefing_id}", None)}
        assert {c[2] for c in before["cases"]} == agencies
        assert before["answers"] == now["answers"] and before["versions"] == now["versions"]
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
            after = shape(connection, audit_id)
            names = dict(connection.execute(text("SELECT id, name FROM agency")).all())
        assert after["subject"] == "agency"
        assert [(c[0], c[1], c[2], c[3]) for c in after["cases"]] == [
            (names[agency], agency, agency, return_id) for _, _, agency, return_id in now["cases"]
        ]
        assert after["answers"] == now["answers"] and after["versions"] == now["versions"]
    finally:
        engine.dispose()


def test_the_audit_subjects_migration_refuses_what_it_cannot_carry(demo_database):
    """d5e9a3b7c1f0 refuses rather than guesses: down, while templates about agencies
    exist (they would silently become templates about children); up, a questionnaire
    with more than its one stand-in case (whose answer is whose cannot be known)."""
    import pytest
    from sqlalchemy import text

    engine = make_engine(demo_database())
    try:
        with (
            pytest.raises(RuntimeError, match="templates about agencies"),
            engine.begin() as connection,
        ):
            command.downgrade(alembic_config(connection), "c4d8f2a6b0e1")
        with engine.begin() as connection:
            downgrade_demo(connection, "c4d8f2a6b0e1")
            audit_id = connection.execute(
                text("SELECT assurance_audit_id FROM briefing WHERE assurance_audit_id > 0")
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO child (audit_id, pseudonym, context_tags, created_at) "
                    "VALUES (:a, 'Briefing 99', '[]', CURRENT_TIMESTAMP)"
                ),
                {"a": audit_id},
            )
        with (
            pytest.raises(RuntimeError, match="more than one case"),
            engine.begin() as connection,
        ):
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


def test_inspection_packs_keep_every_briefing_and_a_pack_is_never_dropped(demo_database):
    """f7a2d6c0e4b8: every briefing and report keeps its audit, now with no period; a
    pack (of no audit) can be stored; the downgrade refuses while one exists, and once
    none does, an audit is required again and the briefings are as they were."""
    import pytest
    from sqlalchemy import exc, text

    def briefings(connection) -> list:
        return connection.execute(
            text("SELECT id, audit_id, kind, title FROM briefing ORDER BY id")
        ).all()

    engine = make_engine(demo_database())
    try:
        with engine.begin() as connection:
            before = briefings(connection)
            assert before and all(b.audit_id for b in before)
            assert (
                connection.execute(
                    text("SELECT count(*) FROM briefing WHERE period_from IS NOT NULL")
                ).scalar_one()
                == 0
            )
            connection.execute(
                text(
                    "INSERT INTO briefing (kind, title, public, created_at, period_from, "
                    "period_to) VALUES ('inspection-pack', 'Pack', false, CURRENT_TIMESTAMP, "
                    "'2025-04-01', '2026-03-31')"
                )
            )
        with (
            pytest.raises(RuntimeError, match="inspection pack"),
            engine.begin() as connection,
        ):
            command.downgrade(alembic_config(connection), "e6f0b4c8d2a1")
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM briefing WHERE kind = 'inspection-pack'"))
            downgrade_demo(connection, "e6f0b4c8d2a1")
            assert briefings(connection) == before
        with pytest.raises(exc.IntegrityError), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO briefing (kind, title, public, created_at) "
                    "VALUES ('briefing', 'No audit', false, CURRENT_TIMESTAMP)"
                )
            )
        # Only the audit is required again: a briefing with no questionnaire yet is kept.
        with engine.begin() as connection:
            audit_id = before[0].audit_id
            connection.execute(
                text(
                    "INSERT INTO briefing (audit_id, kind, title, public, created_at) "
                    "VALUES (:a, 'briefing', 'Another', false, CURRENT_TIMESTAMP)"
                ),
                {"a": audit_id},
            )
            connection.execute(text("DELETE FROM briefing WHERE title = 'Another'"))
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
            assert briefings(connection) == before
    finally:
        engine.dispose()
