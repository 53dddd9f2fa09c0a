"""The identification check: what refuses a briefing, what only needs a confirmation,
and that an ordinary 7-minute briefing passes untouched.

Every NHS-shaped number here is synthetic: 943 476 5919 is the example the NHS
publishes in its own documentation, and the others are made up to pass or fail the
Modulus 11 check; none belongs to anyone."""

from __future__ import annotations

import pytest
import weasyprint

from app.briefings.printed import sections
from app.identify.check import Problem, Report, check
from app.identify.detect import valid_nhs_number


def only(report: Report, kind: str) -> list[Problem]:
    return [p for p in report.problems if p.kind == kind]


def mod11_check_digit(nine: str) -> int | None:
    """Worked out here, independently of the module: weights 10..2, 11 - (sum mod 11)."""
    remainder = 11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    return {11: 0, 10: None}.get(remainder, remainder)


class TestPseudonymWithDetail:
    def test_age_place_and_event_with_a_pseudonym_is_refused(self):
        report = check(
            [
                ("Background", "The audit looked at 7 children."),
                (
                    "What we found: areas for improvement",
                    "- Strategy minutes were late.\n"
                    "- Consent was not recorded.\n"
                    "- Child A, aged 7, was seen at Westshire General after an injury.",
                ),
            ]
        )
        assert not report.ok
        [problem] = report.refusals
        assert problem.kind == "pseudonym_with_detail"
        assert problem.where == "What we found: areas for improvement, line 3"
        assert problem.excerpt == (
            "- »Child A«, »aged 7«, was seen at »Westshire General« after an »injury«."
        )
        assert "an age (“aged 7”)" in problem.message
        assert "a place (“Westshire General”)" in problem.message
        assert "an event (“injury”)" in problem.message

    def test_a_pseudonym_alone_is_fine(self):
        report = check([("Good practice", "Child A's case showed good practice.")])
        assert report.problems == []

    @pytest.mark.parametrize(
        "sentence",
        [
            "Child A is a 7-year-old who attends the local school.",
            "Young person 3, age 14, was known to the youth justice service.",
            "Sibling B2 was in Year 9 when the referral was made.",
            "The strategy discussion for Child C took place on 12 March 2023.",
            "Child C was referred in March 2023.",
            "Baby C was seen at Oakfield Primary School by the school nurse.",
            "Child D's mother was not invited to the conference.",
            "Her stepfather was not spoken to about Child D.",
            "Child E's family are Polish and Catholic.",
            "Young person 4 took an overdose.",
            "Child F was arrested twice.",
            "Young person 5 was missing from home for three days.",
            "The pregnancy of Young person 6 was not shared with the GP.",
            "Child G disclosed self-harm to a teacher.",
            "Child H has a diagnosis of ADHD.",
            "Child H is autistic and the plan did not reflect it.",
        ],
    )
    def test_each_kind_of_case_detail_refuses(self, sentence):
        [problem] = check([("Findings", sentence)]).refusals
        assert problem.kind == "pseudonym_with_detail"

    def test_detail_in_the_next_sentence_is_not_tied_to_the_pseudonym(self):
        text = "Child A's views were recorded well. Self-harm plans were reviewed by every agency."
        assert check([("Findings", text)]).ok

    def test_a_bullet_ends_a_sentence_but_a_wrapped_line_does_not(self):
        bullets = "- Child A's plan was clear\n- Injury protocols were followed"
        wrapped = "The plan for Child A was reviewed after\nthe injury was reported."
        assert check([("Findings", bullets)]).ok
        [problem] = check([("Findings", wrapped)]).refusals
        assert problem.where == "Findings, line 1"
        assert (
            problem.excerpt
            == "The plan for »Child A« was reviewed after the »injury« was reported."
        )

    def test_a_long_sentence_is_cut_between_the_marks(self):
        text = (
            "Intro line.\nThe strategy discussion for Child A was held promptly and every agency"
            " attended, and the minutes were shared on time with the school nurse, but the plan"
            " did not mention the overdose."
        )
        [problem] = check([("Findings", text)]).refusals
        assert problem.where == "Findings, line 2"
        assert problem.excerpt == (
            "The strategy discussion for »Child A« was held promptly and every … "
            "the plan did not mention the »overdose«."
        )

    def test_a_cohort_pseudonym_outside_the_pattern_is_found(self):
        text = "Child CP was seen at Westshire General."  # CP reads as child protection
        assert check([("Findings", text)]).ok
        [problem] = check([("Findings", text)], pseudonyms=["Child CP"]).refusals
        assert problem.excerpt == "»Child CP« was seen at »Westshire General«."

    def test_ordinary_prose_with_child_is_not_a_pseudonym(self):
        text = "The child I met at A&E was aged 7 and the child A&E saw was injured."
        assert only(check([("Reflection", text)]), "pseudonym_with_detail") == []


class TestNhsNumber:
    @pytest.mark.parametrize("written", ["9434765919", "943 476 5919", "401-023-2137"])
    def test_a_valid_nhs_number_is_refused(self, written):
        digits = written.replace(" ", "").replace("-", "")
        assert mod11_check_digit(digits[:9]) == int(digits[9])
        assert valid_nhs_number(written)
        report = check([("Background", f"Reference {written} was quoted in the return.")])
        [problem] = report.refusals
        assert problem.kind == "nhs_number"
        assert problem.where == "Background, line 1"
        assert problem.excerpt == f"Reference »{written}« was quoted in the return."

    def test_a_wrong_check_digit_is_not_an_nhs_number_but_still_a_record_number(self):
        assert mod11_check_digit("943476591") == 9
        assert not valid_nhs_number("9434765918")
        report = check([("Background", "Reference 9434765918 was quoted.")])
        [problem] = report.refusals
        assert problem.kind == "case_number"

    def test_a_check_digit_of_ten_is_never_valid(self):
        nine = next(
            f"{n:09d}"
            for n in range(100_000_000, 200_000_000)
            if mod11_check_digit(f"{n:09d}") is None
        )
        assert not any(valid_nhs_number(nine + str(d)) for d in range(10))

    def test_phone_numbers_and_longer_numbers_are_not_nhs_numbers(self):
        # 01905 845421 is an invented number.
        text = "Call 01905 845421 or quote case 194347659190."
        kinds = [p.kind for p in check([("Further reading", text)]).refusals]
        assert kinds == ["phone", "case_number"]

    def test_the_partnerships_own_number_is_allowed(self):
        text = "Contact the business unit on 01905 845421."
        assert check([("Further reading", text)], allowed=["01905 845421"]).problems == []


class TestDateOfBirth:
    @pytest.mark.parametrize(
        ("text", "marked"),
        [
            ("Recorded DOB: 12/03/2015 on the form.", "DOB: 12/03/2015"),
            ("D.O.B. 12 March 2015 was on the referral.", "D.O.B. 12 March 2015"),
            ("Her date of birth was 2015-03-12 in the notes.", "date of birth was 2015-03-12"),
            ("The baby was born on 3rd May 2016 at home.", "born on 3rd May 2016"),
            ("A sibling born in March 2012 was not known.", "born in March 2012"),
            ("The sibling born in 2014 was not known.", "born in 2014"),
        ],
    )
    def test_a_birth_phrase_with_a_date_is_refused(self, text, marked):
        [problem] = check([("Findings", text)]).refusals
        assert problem.kind == "date_of_birth"
        assert f"»{marked}«" in problem.excerpt

    def test_a_birth_phrase_without_a_date_is_fine(self):
        text = "DOB was not always recorded; one sibling was born in Westshire."
        assert only(check([("Findings", text)]), "date_of_birth") == []

    def test_a_full_date_next_to_a_pseudonym_is_refused_without_a_birth_phrase(self):
        [problem] = check([("Findings", "Child A (12/03/2015) was referred.")]).refusals
        assert problem.kind == "pseudonym_with_detail"
        assert "a date (“12/03/2015”)" in problem.message

    def test_a_date_away_from_a_pseudonym_is_fine(self):
        assert check([("Background", "The moderation meeting was on 14 March 2024.")]).ok


class TestPostcode:
    @pytest.mark.parametrize(
        "postcode", ["WR5 1AB", "B1 1AA", "EC1A 1BB", "wr5 1ab", "GIR 0AA", "WR51AB"]
    )
    def test_a_full_postcode_is_refused(self, postcode):
        [problem] = check([("Background", f"The family moved to {postcode} last year.")]).refusals
        assert problem.kind == "postcode"
        assert problem.where == "Background, line 1"
        assert problem.excerpt == f"The family moved to »{postcode}« last year."

    def test_a_district_alone_only_warns(self):
        report = check([("Background", "Most referrals came from the WR5 area.")])
        assert report.ok
        [warning] = report.warnings
        assert (warning.kind, warning.excerpt) == (
            "postcode_district",
            "Most referrals came from the »WR5« area.",
        )

    def test_look_alikes_are_not_postcodes(self):
        text = "Pupils in KS2 and Sibling B2 travel on the M5 3rd junction road; Child AB1 too."
        assert check([("Background", text)]).problems == []


class TestName:
    NAMES = ["Jane Smith", "Okonkwo", "Al", "Mary-Anne O'Neill"]

    @pytest.mark.parametrize(
        ("text", "marked"),
        [
            ("The return by Jane Smith was thorough.", "Jane Smith"),
            ("The return by jane smith was thorough.", "jane smith"),
            ("The return by Jane\nSmith was thorough.", "Jane Smith"),
            ("Mr Okonkwo's action is overdue.", "Okonkwo's"),
            ("OKONKWO owns the action.", "OKONKWO"),
            ("Thanks to Mary-Anne O'Neill for chairing.", "Mary-Anne O'Neill"),
        ],
    )
    def test_a_name_from_the_records_is_refused(self, text, marked):
        [problem] = check([("Actions", text)], names=self.NAMES).refusals
        assert problem.kind == "name"
        assert problem.where == "Actions, line 1"
        assert f"»{marked}«" in problem.excerpt

    def test_parts_of_words_and_short_names_are_not_refused(self):
        text = "Al said Okonkwos and Smithson used Janes Smithy forms; Smith alone is a surname."
        assert check([("Actions", text)], names=self.NAMES).problems == []

    def test_a_name_inside_a_longer_listed_name_is_reported_once(self):
        [problem] = check(
            [("Actions", "Owner: Jane Smith.")], names=["Jane Smith", "Smith"]
        ).refusals
        assert problem.excerpt == "Owner: »Jane Smith«."


class TestSmallCounts:
    COUNTS = [
        ("Chart: grades by agency", "Police, Inadequate", 1),
        ("Chart: grades by agency", "Police, Good", 12),
        ("Chart: grades by agency", "Schools, Outstanding", 0),
        ("Table: key areas", "Referral, Requires improvement", 5),
        ("Table: key areas", "Strategy discussion, Requires improvement", 4),
    ]

    def test_counts_under_the_threshold_warn_and_do_not_refuse(self):
        report = check([("Background", "Grades are shown below.")], counts=self.COUNTS)
        assert report.ok
        assert [(p.kind, p.where, p.excerpt) for p in report.warnings] == [
            ("small_count", "Chart: grades by agency", "Police, Inadequate: »1«"),
            ("small_count", "Table: key areas", "Strategy discussion, Requires improvement: »4«"),
        ]
        assert "fewer than 5" in report.warnings[0].message

    def test_the_threshold_comes_from_the_caller(self):
        report = check([], counts=self.COUNTS, small_count_threshold=2)
        assert [p.excerpt for p in report.warnings] == ["Police, Inadequate: »1«"]

    @pytest.mark.parametrize(
        "text",
        [
            "Only two children had a plan.",
            "In 1 child's case the plan was late.",
            "One of the 7 young people was not seen.",
            "He is an only child.",
        ],
    )
    def test_small_groups_in_the_text_warn(self, text):
        report = check([("Findings", text)])
        assert report.ok
        [warning] = report.warnings
        assert warning.kind == "small_count"

    def test_larger_groups_in_the_text_are_fine(self):
        text = "We looked at 7 children, 5 agencies and five families; Year 1 children too."
        assert check([("What we looked at", text)]).problems == []


CLEAN_BRIEFING = [
    (
        "1. Background",
        "In 2024 the Quality Assurance Practice and Procedures (QAPP) group of the Westshire\n"
        "Safeguarding Children Partnership audited 'Identification of Need and Risk'. The audit\n"
        "followed the Joint Targeted Area Inspection (JTAI) method: every agency audited its own\n"
        "involvement with the same children, against the same questions.",
    ),
    (
        "2. What we looked at",
        "7 children, 5 agencies, 5 key areas: referral; strategy discussion; interim safety plan;\n"
        "section 47 enquiry; initial child protection conference. Children's social care, West\n"
        "Mercia Police, the acute hospital trust, the community health trust and schools each\n"
        "completed a return. The moderation meeting was held on 14 March 2024.",
    ),
    (
        "3. What we found: good practice",
        "Child A's case showed good practice: the referral was clear and the voice of the child\n"
        "was recorded throughout.\n"
        "- Strategy discussions were held within timescales in most cases.\n"
        "- Young person 3's own words shaped the safety plan.\n"
        "- The Designated Safeguarding Lead at school shared information the same day.",
    ),
    (
        "4. What we found: areas for improvement",
        "- Strategy minutes were not always shared with every agency.\n"
        "- Consent and capacity were not consistently recorded.\n"
        "- Health partners were not always invited to the strategy discussion for Child B.\n"
        "- Children's social care and their partner agencies used different thresholds.",
    ),
    (
        "5. Grade patterns",
        "Good: 12, Requires improvement: 8, Outstanding: 6. Moderation changed 9 grades, and\n"
        "every change moved a grade down by one step.",
    ),
    (
        "6. What to do differently",
        "Invite health and education to every strategy discussion. Record the child's own words,\n"
        "not a summary of them. Share strategy minutes within 2 working days.",
    ),
    (
        "7. Questions for reflection",
        "How do you make sure the child's voice is heard in your agency?\n"
        "Who do you share strategy minutes with, and when?\n"
        "What will you do differently after reading this briefing?",
    ),
    (
        "Further reading",
        "Westshire SCP procedures: https://www.westshire-scp.org.uk/procedures\n"
        "Working Together to Safeguard Children 2023 (HM Government), chapter 2.\n"
        "Questions? Contact the business unit on 01905 845421.",
    ),
]


class TestReport:
    def test_problems_come_in_document_order_and_split_into_refusals_and_warnings(self):
        report = check(
            [("A", "Ref 9434765919 and two children."), ("B", "Postcode WR5 1AB, Jane Smith.")],
            names=["Jane Smith"],
            counts=[("Chart", "Police, Inadequate", 2)],
        )
        assert [(p.kind, p.where) for p in report.problems] == [
            ("nhs_number", "A, line 1"),
            ("small_count", "A, line 1"),
            ("postcode", "B, line 1"),
            ("name", "B, line 1"),
            ("small_count", "Chart"),
        ]
        assert [p.kind for p in report.refusals] == ["nhs_number", "postcode", "name"]
        assert len(report.warnings) == 2
        assert not report.ok
        assert check([("A", "")]).problems == []


class TestCleanBriefing:
    def test_an_ordinary_seven_minute_briefing_passes_untouched(self):
        report = check(
            CLEAN_BRIEFING,
            pseudonyms=["Child A", "Child B", "Young person 3"],
            names=["Jane Smith", "Okonkwo", "Business Unit Admin"],
            allowed=["01905 845421"],  # the business unit's own (invented) number
            counts=[("Chart: grades", "Good", 12), ("Chart: grades", "Requires improvement", 8)],
        )
        assert report.problems == []
        assert report.ok


@pytest.fixture(scope="module")
def two_page_pdf() -> bytes:
    html = (
        "<h1>Learning briefing</h1><p>7 children, 5 agencies.</p>"
        "<p style='page-break-before: always'>What we found</p>"
        "<p>The NHS number 943 476 5919 was copied into a return.</p>"
    )
    return weasyprint.HTML(string=html).write_pdf()


class TestAPrintedPdf:
    """The check reads a PDF's pages as printed.sections gives them (the check of a
    published briefing: tests/briefings/test_printed_check.py)."""

    def test_an_nhs_number_on_page_two_is_reported_on_page_two(self, two_page_pdf):
        pages = [(where, text) for where, text in sections(two_page_pdf) if "page" in where]
        [problem] = check(pages).refusals
        assert problem.kind == "nhs_number"
        assert problem.where == "page 2, line 3"
        assert (
            problem.excerpt
            == "What we found The NHS number »943 476 5919« was copied into a return."
        )


def test_the_number_of_children_audited_is_no_small_group():
    text = "We looked at the experiences of 3 children known to five agencies."
    assert [p.kind for p in check([("Background", text)]).warnings] == ["small_count"]
    assert check([("Background", text)], cohort_size=3).problems == []
    # Another small group in the same text is still one to check.
    also = text + " Two children had been missing from home."
    assert [p.kind for p in check([("Background", also)], cohort_size=3).warnings] == [
        "small_count"
    ]
