"""The SVG chart macros, rendered through the app's one Jinja environment and read
back as XML, as a PDF renderer or a screen reader would meet them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.templating import environment

SVG = "{http://www.w3.org/2000/svg}"
GRADES = ["Outstanding", "Good", "Requires improvement to be good", "Inadequate"]


def render(call: str, **context) -> ET.Element:
    source = '{% from "_macros/charts.html" import grouped_bars, shift_bars %}' + call
    return ET.fromstring(environment.from_string(source).render(**context))


def grouped(categories, series, title="Self and moderated grades", id="grades-chart"):
    return render(
        "{{ grouped_bars(title, categories, series, id) }}",
        title=title,
        categories=categories,
        series=series,
        id=id,
    )


def shifted(rows, title="Grades moved by moderation", id="shift-chart"):
    return render("{{ shift_bars(title, rows, id) }}", title=title, rows=rows, id=id)


def bars(svg: ET.Element) -> list[ET.Element]:
    return [rect for rect in svg.iter(f"{SVG}rect") if rect.get("class") == "chart-bar"]


def contrast_with_white(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


SERIES = [
    {"name": "Self-grade", "values": [3, 10, 4, 1]},
    {"name": "Moderated", "values": [1, 8, 7, 2]},
]


class TestGroupedBars:
    def test_is_an_accessible_svg_image(self):
        svg = grouped(GRADES, SERIES)
        assert svg.tag == f"{SVG}svg"
        assert svg.get("role") == "img"
        assert svg.get("viewBox").startswith("0 0 ")
        title = svg.find(f"{SVG}title")
        assert title is not None
        assert svg.get("aria-labelledby") == title.get("id") == "grades-chart-title"

    def test_title_states_the_data(self):
        text = grouped(GRADES, SERIES).find(f"{SVG}title").text
        assert text.startswith("Self and moderated grades.")
        assert (
            "Self-grade: Outstanding 3, Good 10, Requires improvement to be good 4, Inadequate 1."
            in text
        )
        assert "Moderated: Outstanding 1, Good 8" in text

    def test_one_bar_per_data_point(self):
        svg = grouped(GRADES, SERIES)
        assert len(bars(svg)) == 8
        assert [b.get("data-value") for b in bars(svg)[:2]] == ["3", "1"]  # grouped by grade

    def test_heights_are_proportional_and_the_largest_fills_the_plot(self):
        found = bars(grouped(GRADES, SERIES))
        per_unit = {round(float(b.get("height")) / float(b.get("data-value")), 6) for b in found}
        assert len(per_unit) == 1
        heights = [float(b.get("height")) for b in found]
        assert max(heights) == pytest.approx(200)  # the value 10
        # bars stand on one baseline
        assert {round(float(b.get("y")) + float(b.get("height")), 2) for b in found} == {272.0}

    def test_every_value_is_printed_and_every_grade_and_series_named(self):
        svg = grouped(GRADES, SERIES)
        words = " ".join("".join(t.itertext()) for t in svg.iter(f"{SVG}text"))
        for value in ("3", "10", "4", "1", "8", "7", "2"):
            assert value in words.split()
        assert "Self-grade" in words and "Moderated" in words
        assert "Requires improvement" in words and "Inadequate" in words
        assert "Number of grades" in words  # the axis label

    def test_all_zero_renders_flat_bars(self):
        svg = grouped(GRADES, [{"name": "Self-grade", "values": [0, 0, 0, 0]}])
        found = bars(svg)
        assert len(found) == 4
        assert {float(b.get("height")) for b in found} == {0.0}

    def test_series_colours_contrast_with_white(self):
        svg = grouped(
            GRADES, SERIES + [{"name": "C", "values": [1] * 4}, {"name": "D", "values": [1] * 4}]
        )
        for colour in {b.get("fill") for b in bars(svg)}:
            assert contrast_with_white(colour) >= 3

    def test_labels_are_escaped_into_valid_xml(self):
        svg = grouped(["Good & <safe>"], [{"name": "A & B", "values": [2]}])
        assert "Good & <safe>" in svg.find(f"{SVG}title").text

    def test_no_script_and_no_external_references(self):
        html = environment.from_string(
            '{% from "_macros/charts.html" import grouped_bars %}{{ grouped_bars("t", c, s, "x") }}'
        ).render(c=GRADES, s=SERIES)
        assert "<script" not in html
        assert "href" not in html
        assert "<style" not in html


class TestShiftBars:
    ROWS = [
        {"label": "Police", "lowered": 0.25, "raised": 0.1, "n": 12},
        {"label": "Acute hospital trust", "lowered": 0.5, "raised": 0.0, "n": 8},
        {"label": "Schools", "lowered": 0.0, "raised": 0.2},
    ]

    def test_is_an_accessible_svg_image(self):
        svg = shifted(self.ROWS)
        title = svg.find(f"{SVG}title")
        assert svg.get("role") == "img"
        assert svg.get("aria-labelledby") == title.get("id") == "shift-chart-title"
        assert "Police (12 grades): 25% lowered, 10% raised" in title.text
        assert "Schools: 0% lowered, 20% raised." in title.text

    def test_two_bars_per_group_diverging_from_the_centre(self):
        svg = shifted(self.ROWS)
        found = bars(svg)
        assert len(found) == 2 * len(self.ROWS)
        lowered = [b for b in found if b.get("data-direction") == "lowered"]
        raised = [b for b in found if b.get("data-direction") == "raised"]
        centre = float(raised[0].get("x"))
        for bar in lowered:  # lowered bars end at the centre line, to its left
            assert float(bar.get("x")) + float(bar.get("width")) == pytest.approx(centre)
        assert {float(b.get("x")) for b in raised} == {centre}

    def test_widths_are_proportional_to_shares(self):
        found = [b for b in bars(shifted(self.ROWS)) if float(b.get("data-value")) > 0]
        per_unit = {round(float(b.get("width")) / float(b.get("data-value")), 6) for b in found}
        assert len(per_unit) == 1

    def test_percentages_printed(self):
        words = " ".join("".join(t.itertext()) for t in shifted(self.ROWS).iter(f"{SVG}text"))
        for label in ("25%", "10%", "50%", "20%", "(n=12)"):
            assert label in words

    def test_all_zero_and_empty_render(self):
        zero = shifted([{"label": "Police", "lowered": 0, "raised": 0}])
        assert {float(b.get("width")) for b in bars(zero)} == {0.0}
        empty = shifted([])
        assert bars(empty) == []
        assert "No groups to show." in empty.find(f"{SVG}title").text

    def test_colours_contrast_with_white(self):
        for colour in {b.get("fill") for b in bars(shifted(self.ROWS))}:
            assert contrast_with_white(colour) >= 3
