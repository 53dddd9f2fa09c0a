"""The ``audit-tools`` command line, each run against its own new database.

Every NHS-shaped number here is synthetic: 943 476 5919 is the example the NHS
publishes in its own documentation, and the others are made up to pass or fail the
Modulus 11 check; none belongs to anyone."""

from sqlalchemy import func, select
from typer.testing import CliRunner

from app.audit_templates.files import library_files
from app.config import get_settings
from app.models import Audit, Return, TemplateVersion
from audit_tools.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


class TestCli:
    def test_commands_before_upgrade_say_to_upgrade(self, cli_db):
        result = run("demo")
        assert result.exit_code == 1
        assert "db upgrade" in result.output

    def test_upgrade_demo_and_demo_again(self, cli_db):
        assert run("db", "upgrade").exit_code == 0
        result = run("demo")
        assert result.exit_code == 0, result.output
        assert "7 children" in result.output
        with cli_db() as session:
            assert session.scalar(select(func.count(Audit.id))) == 8
            statuses = set(session.scalars(select(Return.status)))
            assert {"not_started", "draft", "submitted", "returned_for_amendment"} <= set(statuses)
        again = run("demo")
        assert again.exit_code == 0 and "already loaded" in again.output
        with cli_db() as session:
            assert session.scalar(select(func.count(Audit.id))) == 8

    def test_templates_import_export_round_trip(self, cli_db, tmp_path):
        run("db", "upgrade")
        source = library_files()[0]
        result = run("templates", "import", str(source), "--publish")
        assert result.exit_code == 0, result.output
        with cli_db() as session:
            version_id = session.scalar(select(TemplateVersion.id))
        out = tmp_path / "exported.yaml"
        assert run("templates", "export", str(version_id), "-o", str(out)).exit_code == 0
        # Importing the export makes version 2 of the same template, as a draft.
        result = run("templates", "import", str(out))
        assert result.exit_code == 0 and "(version 2)" in result.output
        listing = run("templates", "list")
        assert "published" in listing.output and "draft" in listing.output

    def test_bad_template_file_is_refused_with_its_problems(self, cli_db, tmp_path):
        run("db", "upgrade")
        bad = tmp_path / "bad.yaml"
        bad.write_text("format: case-audit-template/1\nname: X\nkey_areas: []\n")
        result = run("templates", "import", str(bad))
        assert result.exit_code == 1
        assert "key_areas" in result.output and "Nothing was saved" in result.output

    def test_a_number_too_long_to_read_is_a_clean_error(self, cli_db, tmp_path):
        run("db", "upgrade")
        huge = tmp_path / "huge.yaml"
        huge.write_text(f"format: case-audit-template/1\nname: X\ntheme: {'9' * 5000}\n")
        result = run("templates", "import", str(huge))
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "line 3" in result.output and "Nothing was saved" in result.output

    def test_downgrade_to_base(self, cli_db):
        run("db", "upgrade")
        assert run("db", "downgrade", "base").exit_code == 0
        assert run("demo").exit_code == 1


class TestCliErrors:
    """Every failure is one line and exit status 1, never a traceback."""

    def test_unknown_revision(self, cli_db):
        result = run("db", "downgrade", "nosuch")
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "Alembic refused" in result.output

    def test_unwritable_export_file(self, cli_db, tmp_path):
        run("db", "upgrade")
        run("templates", "import", str(library_files()[0]))
        result = run("templates", "export", "1", "-o", str(tmp_path / "missing" / "x.yaml"))
        assert result.exit_code == 1 and "Could not write" in result.output

    def test_unreachable_database(self, monkeypatch):
        monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
        get_settings.cache_clear()
        try:
            for args in (("db", "upgrade"), ("demo",)):
                result = run(*args)
                assert result.exit_code == 1 and "could not be used" in result.output
        finally:
            get_settings.cache_clear()


class TestReminders:
    def test_a_dry_run_prints_the_digests_and_a_real_run_needs_a_server(self, cli_demo_db):
        from datetime import date, timedelta

        # Five days on, the demo's open audit is due within the week.
        day = (date.today() + timedelta(days=5)).isoformat()
        dry = run("reminders", "send", "--dry-run", "--today", day)
        assert dry.exit_code == 0, dry.output
        assert "To: auditor.police@example.org" in dry.output
        assert "Identification of need and risk" in dry.output and "due in 5 days" in dry.output
        assert "would send" in dry.output
        real = run("reminders", "send", "--today", day)
        assert real.exit_code == 1
        assert "AUDIT_SMTP_HOST" in real.output
        assert run("reminders", "send", "--today", "23/11/2026").exit_code == 2


class TestBriefingsPublishCheck:
    def test_the_demo_briefing_passes_and_a_file_with_an_nhs_number_is_refused(
        self, cli_demo_db, tmp_path
    ):
        from app.briefings.models import BriefingVersion

        with cli_demo_db() as session:
            version_id = session.scalar(select(BriefingVersion.id))
            audit_id = session.scalar(select(Audit.id).where(Audit.status == "learning"))
        clean = run("briefings", "publish-check", str(version_id))
        assert clean.exit_code == 0, clean.output
        assert "nothing would stop publication" in clean.output

        leaky = tmp_path / "draft.txt"
        leaky.write_text(
            "What we found\n\nYoung person 2, aged 15, was seen at Westshire General after "
            "an overdose. NHS number 943 476 5919. Home: WR5 1AB.\n",
            encoding="utf-8",
        )
        refused = run("briefings", "publish-check", str(leaky), "--audit", str(audit_id))
        assert refused.exit_code == 1
        out = refused.output
        assert "REFUSED" in out and "NHS number" in out and "postcode" in out.lower()
        assert "Young person 2" in out
        missing = run("briefings", "publish-check", "no-such-thing")
        assert missing.exit_code == 1 and "neither a file" in missing.output


class TestPeriodReport:
    def test_a_report_over_every_audit_moderated_in_a_period(self, cli_demo_db, tmp_path):
        import subprocess
        from datetime import date, timedelta

        out = tmp_path / "period.pdf"
        start = (date.today() - timedelta(days=7)).isoformat()
        end = date.today().isoformat()
        done = run("briefings", "period-report", "--from", start, "--to", end, "--out", str(out))
        assert done.exit_code == 0, done.output
        # The deep dive, the Front Door audit and the one whose meeting is next.
        assert "3 audit(s)" in done.output
        text = subprocess.run(
            ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "GET SAFE deep dive" in text and "Front Door referrals" in text
        assert "Across the 3 audits" in text
        empty = run(
            "briefings",
            "period-report",
            "--from",
            "2020-01-01",
            "--to",
            "2020-12-31",
            "--out",
            str(out),
        )
        assert empty.exit_code == 1 and "No audit was moderated" in empty.output
        assert (
            run(
                "briefings", "period-report", "--from", end, "--to", start, "--out", str(out)
            ).exit_code
            == 1
        )
