"""The PDFs' font is the one the project ships (Arimo, from npm), embedded, whatever
fonts the server has; their bookmarks read "1. Background"; the image carries the font.

Why: with the server's fonts, one machine's briefings were set in DejaVu Sans and
another's in Liberation Sans, and the bookmarks ran a section's number into its heading
("1Background")."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pikepdf
import pytest
from fontTools.ttLib import TTFont
from sqlalchemy import select

from app import clock
from app.audits.models import Audit, AuditStatus
from app.briefings import content, drafting, render
from app.config import PROJECT_ROOT, Settings
from app.db import make_sessionmaker
from tests.helpers.sessions import engine_on

SETTINGS = Settings()
TITLE = "GET SAFE: child protection procedures in exploitation cases"
PACKAGE = "@expo-google-fonts/arimo"
# A subset font's name: six capitals, "+", then the family the CSS gives it and its style.
SHIPPED_NAME = re.compile(
    r"/[A-Z]{6}\+" + re.escape(render.FONT_FAMILY.replace(" ", "-")) + r"(-Bold)?(-Italic)?"
)


@pytest.fixture(scope="module")
def documents(demo_database) -> dict[str, tuple[str, bytes]]:
    """The demo's briefing and subgroup report: kind -> (print HTML, PDF)."""
    url = demo_database()
    with engine_on(url) as engine, make_sessionmaker(engine)() as session:
        audit = session.scalar(select(Audit).where(Audit.status == AuditStatus.LEARNING))
        contexts = {
            "briefing": content.briefing_context(
                session,
                audit=audit,
                sections=drafting.draft_sections(session, audit=audit),
                title=TITLE,
                marking="OFFICIAL",
                version_label="Version 1",
                dated=clock.today(),
                settings=SETTINGS,
            ),
            "subgroup-report": content.subgroup_report_context(
                session,
                audits=[audit],
                subgroup_name="QAPP",
                marking="OFFICIAL-SENSITIVE",
                version_label="Version 2",
                dated=clock.today(),
                today=clock.today(),
                settings=SETTINGS,
            ),
        }
    out = {}
    for kind, context in contexts.items():
        html = render.html_for(kind, context)
        out[kind] = html, render.render_pdf(html, title=context["doc"]["title"], logo_path=None)
    return out


def fonts_of(pdf: bytes) -> dict[str, dict[str, bytes]]:
    """Every font the pages use, by /BaseFont, with the font programs embedded for it
    (by key, /FontFile2 for TrueType): each page's /Font resources and those of the forms
    it draws, however deep."""
    found: dict[str, pikepdf.Dictionary] = {}

    def visit(resources, seen: set) -> None:
        for font in (resources.get("/Font") or {}).values():
            found[str(font.BaseFont)] = font
        for xobject in (resources.get("/XObject") or {}).values():
            key = xobject.objgen
            if key not in seen and "/Resources" in xobject:
                seen.add(key)
                visit(xobject.Resources, seen)

    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            visit(page.Resources, set())
        # Read before the document closes.
        return {name: _embedded(font) for name, font in found.items()}


def _embedded(font: pikepdf.Dictionary) -> dict[str, bytes]:
    descriptor = (
        font.DescendantFonts[0].FontDescriptor
        if "/DescendantFonts" in font
        else font.FontDescriptor
    )
    keys = ("/FontFile", "/FontFile2", "/FontFile3")
    return {key: descriptor[key].read_bytes() for key in keys if key in descriptor}


def program_names(data: bytes) -> dict[int, str]:
    """What a font program's name table says it is: copyright (0), family (1) and
    version (5)."""
    names = TTFont(io.BytesIO(data))["name"]
    return {n: names.getDebugName(n) for n in (0, 1, 5)}


def shipped_names() -> dict[int, str]:
    return program_names((render.FONTS / render.FONT_FACES[0][2]).read_bytes())


def outline_titles(pdf: bytes) -> list[str]:
    titles: list[str] = []

    def walk(items) -> None:
        for item in items:
            titles.append(item.title)
            walk(item.children)

    with pikepdf.open(io.BytesIO(pdf)) as document, document.open_outline() as outline:
        walk(outline.root)
    return titles


def fake_font(path: Path, family: str) -> None:
    """A font called ``family`` whose every glyph is a box, with "Fake" as its copyright:
    a server's own font of that name (made here, so the test needs none), newer than the
    shipped one."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    codes = [*range(32, 127), *range(160, 256), *(ord(c) for c in "–—“”‘’…•←→")]
    glyphs = [".notdef", *(f"u{code:04X}" for code in codes)]
    pen = TTGlyphPen(None)
    pen.moveTo((50, 0))
    pen.lineTo((50, 700))
    pen.lineTo((550, 700))
    pen.lineTo((550, 0))
    pen.closePath()
    box = pen.glyph()
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(glyphs)
    builder.setupCharacterMap({code: f"u{code:04X}" for code in codes})
    builder.setupGlyf({name: box for name in glyphs})
    builder.setupHorizontalMetrics({name: (600, 50) for name in glyphs})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    # A later version than the shipped font's: fontconfig prefers it to an equal match.
    builder.font["head"].fontRevision = 99.0
    builder.setupNameTable(
        {"copyright": "Fake", "familyName": family, "styleName": "Regular", "version": "99.0"}
    )
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(str(path))


class TestTheShippedFont:
    @pytest.mark.parametrize("kind", ["briefing", "subgroup-report"])
    def test_every_font_in_the_pdf_is_the_shipped_one_embedded(self, documents, kind):
        fonts = fonts_of(documents[kind][1])
        assert fonts, "no font found in the PDF"
        names = shipped_names()
        for base_font, programs in fonts.items():
            assert SHIPPED_NAME.fullmatch(base_font), base_font
            # Embedded, as the program the project ships: not a server's font by that name.
            assert programs, f"{base_font} is not embedded"
            for data in programs.values():
                assert program_names(data) == names, base_font

    def test_each_face_is_its_own_file_not_a_synthesised_one(self):
        html = (
            f'<html lang="en-GB"><title>t</title><style>{render.font_face_css()}</style>'
            f'<p style="font-family: {render.FONT_STACK}">r <b>b</b> <i>i</i> <b><i>bi</i></b>'
            "</p></html>"
        )
        fonts = fonts_of(render.render_pdf(html, title="t", logo_path=None))
        styles = {
            "": "Regular",
            "-Bold": "Bold",
            "-Italic": "Italic",
            "-Bold-Italic": "Bold Italic",
        }
        by_style = {}
        for base_font, programs in fonts.items():
            match = SHIPPED_NAME.fullmatch(base_font)
            assert match, base_font
            [program] = programs.values()
            by_style[(match.group(1) or "") + (match.group(2) or "")] = program
        assert set(by_style) == set(styles)
        for suffix, program in by_style.items():
            assert TTFont(io.BytesIO(program))["name"].getDebugName(2) == styles[suffix]

    def test_the_charts_are_set_in_it_too(self, documents):
        """The charts' SVG names Arial (templates/_macros/charts.html); in a document the
        shipped font comes first there as well."""
        html = documents["briefing"][0]
        families = re.findall(r' font-family="([^"]*)"', html)
        assert families and all(f.startswith(f"'{render.FONT_FAMILY}', ") for f in families)

    def test_the_same_pdf_whatever_fonts_the_server_has(self, documents, monkeypatch, tmp_path):
        """A server with fonts of its own called Arimo and Arial (which fontconfig would
        otherwise prefer to the shipped font or use for the charts) renders the same
        bytes as this one, in a render worker of its own."""
        (tmp_path / "fonts").mkdir()
        for family in ("Arimo", "Arial"):
            fake_font(tmp_path / "fonts" / f"Fake{family}.ttf", family)
        config = tmp_path / "fonts.conf"
        config.write_text(
            '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
            "<fontconfig>\n"
            '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
            f"  <dir>{tmp_path / 'fonts'}</dir>\n"
            f"  <cachedir>{tmp_path / 'cache'}</cachedir>\n"
            "</fontconfig>\n"
        )
        monkeypatch.setenv("FONTCONFIG_FILE", str(config))
        # The fake fonts are there: a document that asks for Arimo by name gets one.
        control = render.render_in_worker(
            '<html lang="en-GB"><title>t</title><p style="font-family: Arimo">Arimo</p></html>',
            "t",
        )
        [programs] = fonts_of(control).values()
        [program] = programs.values()
        assert program_names(program)[0] == "Fake"

        html, pdf = documents["briefing"]
        assert render.render_in_worker(html, TITLE) == pdf

    def test_the_warm_up_loads_the_shipped_font(self, monkeypatch):
        rendered = []
        real = render.render_pdf
        monkeypatch.setattr(render, "render_pdf", lambda *a, **k: rendered.append(real(*a, **k)))
        monkeypatch.setattr(render.gc, "freeze", lambda: None)
        render._warm_up()
        [pdf] = rendered
        assert {SHIPPED_NAME.fullmatch(name).group(1) for name in fonts_of(pdf)} == {None, "-Bold"}


class TestTheFetcher:
    def test_serves_each_face_the_documents_use(self):
        for _weight, _style, file in render.FONT_FACES:
            response = render.url_fetcher(f"{render.FONT_PREFIX}{file}", logo_path=None)
            assert response.read() == (render.FONTS / file).read_bytes()

    @pytest.mark.parametrize(
        "name",
        [
            "../package.json",
            "../../govuk-frontend/package.json",
            "500Medium/Arimo_500Medium.ttf",  # in the package, not used
            "/etc/passwd",
            "",
        ],
    )
    def test_refuses_anything_else(self, name):
        with pytest.raises(render.AssetRefused):
            render.url_fetcher(f"{render.FONT_PREFIX}{name}", logo_path=None)

    def test_without_the_font_a_render_stops_rather_than_falls_back(self, monkeypatch, tmp_path):
        monkeypatch.setattr(render, "FONTS", tmp_path)
        css = render.font_face_css()
        with pytest.raises(render.AssetRefused, match="font is not installed"):
            render.render_pdf(
                f'<html lang="en-GB"><title>t</title><style>{css}</style><p>t</p></html>',
                title="t",
                logo_path=None,
            )


class TestBookmarks:
    def test_a_numbered_section_reads_number_full_stop_heading(self, documents):
        titles = outline_titles(documents["briefing"][1])
        numbered = [title for title in titles if title[:1].isdigit()]
        assert numbered == [
            f"{number}. {section.heading}" for number, section in enumerate(drafting.NUMBERED, 1)
        ]
        assert numbered[0].startswith("1. Background")

    @pytest.mark.parametrize("kind", ["briefing", "subgroup-report"])
    def test_no_bookmark_runs_a_number_into_its_words(self, documents, kind):
        titles = outline_titles(documents[kind][1])
        assert titles
        assert not [title for title in titles if re.match(r"\d+[^\d.\s]", title)]

    def test_the_page_shows_the_number_in_its_box_as_before(self, documents):
        html = documents["briefing"][0]
        first = drafting.NUMBERED[0].heading
        assert f'<span class="number">1</span>{first}</h2>' in html


class TestTheImage:
    """The Dockerfile cannot be built here (no Docker engine): check that the image's
    node stage installs the font and copies it where render.py reads it."""

    def test_the_font_is_a_pinned_production_dependency(self):
        package = json.loads((PROJECT_ROOT / "package.json").read_text())
        lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text())
        version = package["dependencies"][PACKAGE]  # not devDependencies: --omit=dev keeps it
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
        locked = lock["packages"][f"node_modules/{PACKAGE}"]
        assert locked["version"] == version and not locked.get("dev")
        assert "OFL-1.1" in locked["license"]

    def test_the_image_copies_it_where_render_reads_it(self):
        dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
        assert "npm ci --omit=dev" in dockerfile
        final = dockerfile.split("FROM python:")[1]
        assert "WORKDIR /srv/case-audit" in final
        assert "COPY --from=assets /build/node_modules ./node_modules" in final
        assert render.FONTS.relative_to(PROJECT_ROOT).parts == ("node_modules", *PACKAGE.split("/"))

    def test_the_installed_package_has_each_face_under_the_open_font_licence(self):
        for _weight, _style, file in render.FONT_FACES:
            assert (render.FONTS / file).is_file(), f"{file}: run `make install`"
        licence = (render.FONTS / "LICENSE_FONT").read_text()
        assert "SIL Open Font License, Version 1.1" in licence
