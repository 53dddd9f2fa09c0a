"""The accessibility check itself (conftest.py ``axe_violations``): every rule runs on
each page drawn a new way, and colour contrast on each text element styled a new way,
so a page much like one that passed is still caught by what is new in it."""

from __future__ import annotations

from tests.browser.conftest import axe_violations

PAGE = """<!doctype html><html lang="en"><head><title>The axe check</title><style>
.quiet {{ color: #505a5f }} .faint {{ color: #b1b4b6 }}</style></head>
<body class="axe-check"><main><h1>Contrast</h1>{body}</main></body></html>"""


def found(page, body: str) -> list[str]:
    page.set_content(PAGE.format(body=body))
    return sorted(v["id"] for v in axe_violations(page))


def test_each_new_styling_is_checked_for_contrast_and_every_page_for_the_rest(page):
    assert found(page, '<p class="quiet">Readable grey</p>') == []
    # A faint paragraph beside one whose styling passed: its own styling is checked.
    assert found(page, '<p class="quiet">Grey</p><p class="faint">Too faint</p>') == [
        "color-contrast"
    ]
    # Faint words inside a paragraph styled as one that passed.
    assert found(page, '<p class="quiet">Grey <span class="faint">faint</span></p>') == [
        "color-contrast"
    ]
    # Only stylings that passed, and an image with no text alternative.
    assert found(page, '<p class="quiet">Grey again</p><img src="data:,">') == ["image-alt"]
