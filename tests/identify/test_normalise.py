"""How the guard undoes disguises before it matches (``detect.normalise``), and what it
then finds. Every number, name and place here is invented: telephone numbers are from
Ofcom's drama range (07700 900000-900999), e-mail domains are reserved for examples
(RFC 2606), postcodes and references are made up in their formats."""

import pytest

from app.identify.detect import find, normalise


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("oh seven seven double oh, nine double oh, two one five", "07700900215"),
        ("zero seven seven zero zero, 900 482", "07700900482"),
        ("born the thirty-first of March two thousand and twelve", "born the 31st of March 2012"),
        ("on the second of June, twenty twenty-one", "on the 2nd of June, 2021"),
        ("w.r.1.4 3.q.x", "wr14 3qx"),
        ("Postcode WR14 3Q\nX", "Postcode WR14 3QX"),
        ("y o 1 - 4 d z", "yo1 4dz"),
        ("C E  1 2  3 4  5 6  A", "CE 12 34 56 A"),
        ("ref 31*448120", "ref 31448120"),
        ("9 Br1ar Close, Oldham", "9 Briar Close, Oldham"),
        ("sam.k at example.org", "sam.k@example.org"),
        ("sam.k&#64;example.org", "sam.k@example.org"),
        ("Sierra Kilo one two, three Papa Quebec", "SK123PQ"),
        ("thirty-one slash four four eight one two slash twenty-five", "31/44812/25"),
        ("d.o.b. iv.xi.MMXIV", "d.o.b. 04.11.2014"),
        ("9.9.9.1.2.3.4.5.6.7", "9991234567"),
        ("LS6 lAB", "LS6 1AB"),
    ],
)
def test_a_disguise_is_undone(written, read):
    assert normalise(written) == read


@pytest.mark.parametrize(
    "plain",
    [
        "one or two of the first three meetings",
        "in the first of many meetings, e.g. section 4.1.2",
        "two thousand children and twenty twelve-year-olds",
        "See the reports at www.gov.uk and contact us at partnership.org",
        "grades 1 2 3 for",
        "Charlie, Mike, Oscar, Victor, two of them",
        "twenty-four hours a day, seven days a week, fifty-two weeks a year",
        "version 4.1.2 of the procedures",
        "the 2025 2026 plan",
        "I  a  m  here",
    ],
)
def test_ordinary_text_is_left_alone(plain):
    assert normalise(plain) == plain


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Her mobile is oh seven seven oh oh, nine oh oh, three one four", "phone"),
        ("Date of birth: the fourth of May, two thousand and fourteen", "date_of_birth"),
        ("post code is b 6 4 - 4 q h", "postcode"),
        ("NI number C E  1 2  3 4  5 6  A", "ni_number"),
        ("The occurrence 23*119027 was filed", "case_number"),
        ("Lives at Forty-Two\nEastgate, Ludlow", "address"),
        ("Contact jo.b at example.org for the minutes", "email"),
    ],
)
def test_what_a_disguise_hid_is_found(text, kind):
    assert [f.kind for f in find(text)] == [kind]


def test_a_charts_figures_on_lines_of_their_own_are_not_one_number():
    # A bar chart's labels as pdftotext -layout prints them: each on its own line, at
    # the height of its bar; read together they once made "25252319", refused as a
    # case number, so a briefing on an audit of 25 children could not be published.
    page = (
        "Good                23            25\n"
        "                          25\n"
        "             23\n"
        "    19                   Requires improvement   45   30\n"
    )
    assert normalise(page) == page
    assert find(page) == []
    # A long number a line break splits is still joined and found.
    assert [f.kind for f in find("Her Mosaic record is 4010 2321\n375 on file")] == ["case_number"]


def test_a_sentence_starting_after_a_printed_lines_indentation_starts_with_a_capital():
    # As a printed document's text reads: a heading, a blank line, then an indented
    # paragraph. "In" was taken for a name because the sentence's start was not seen.
    from app.identify.check import check

    printed = "Readers' answers\n\n\n       In 2026-27, readers said it was useful."
    assert check([("Printed", printed)]).problems == []
    # A name from the records there is still one.
    named = "Readers' answers\n\n\n       The return by Jane Smith was thorough."
    assert [p.kind for p in check([("Printed", named)], names=["Jane Smith"]).refusals] == ["name"]


def test_a_date_in_a_tables_birth_column_is_a_date_of_birth():
    table = "Sibling | DOB | School\nsister | 11/02/2013 | Hill Top Primary\nbrother | 2016 | none"
    found = find(table)
    assert [(f.kind, f.text) for f in found] == [
        ("date_of_birth", "11/02/2013"),
        ("date_of_birth", "2016"),
    ]
    assert table[found[0].start : found[0].end] == "11/02/2013"


def test_a_date_in_another_column_is_not():
    assert find("Month | Returns | Due\nMarch | 12 | 04/07/2026") == []


@pytest.mark.parametrize(
    "sentence",
    [
        "The review after the murders of Arthur Labinjo-Hughes and Star Hobson was published.",
        "Lord Laming's inquiry after the death of Victoria Climbié led to the Children Act 2004.",
        "Children from Gypsy, Roma and Traveller communities may be less visible to services.",
    ],
)
def test_names_national_reviews_made_public_are_not_refused(sentence):
    assert find(sentence) == []


def test_a_name_beside_a_public_case_still_is():
    assert [f.text for f in find("Like Star Hobson, her mother Kelly Smith was seen.")] == [
        "Kelly Smith"
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Helpline | Number\nNSPCC | 0808 800 5000\nChildline | 0800 1111\nSamaritans | 116 123",
        "Write to help@nspcc.org.uk or info@example.org for the leaflets.",
    ],
)
def test_a_services_number_or_mailbox_is_not_a_persons(sentence):
    assert find(sentence) == []


def test_a_relation_before_a_name_in_capitals_marks_it():
    found = find("GRANDMOTHER MAUREEN OKAFOR - KINSHIP CARER")
    assert [(f.kind, f.text) for f in found] == [("name", "MAUREEN OKAFOR")]


def test_a_family_named_in_the_plural_is_a_name():
    found = find("The Boswells, a Traveller family, were living on the verge.")
    assert [(f.kind, f.text) for f in found] == [("name", "Boswells")]
