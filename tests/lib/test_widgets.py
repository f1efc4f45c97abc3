"""FastSelect must be a drop-in for forms.Select: the same markup, byte for byte once the
whitespace between tags is ignored."""

import re

import pytest
from django import forms

from helpdesk.lib.widgets import FastSelect

CHOICES = [
    ("", "Any"),
    ("me", "Me"),
    ("7", 'Wang "Lei" <b>&</b>'),
    (8, "李娜"),
    ("Group <1>", [("a", "A"), ("b", "B & C")]),
]


def _tight(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("value", [None, "", "me", "7", 8, "b", "missing"])
@pytest.mark.parametrize(
    "attrs", [{}, {"id": "f-x", "aria-describedby": "f-x_help", "required": True}]
)
def test_same_html_as_django_select(value, attrs):
    ours = FastSelect(choices=CHOICES).render("assignee", value, attrs=attrs)
    django = forms.Select(choices=CHOICES).render("assignee", value, attrs=attrs)
    assert _tight(ours) == _tight(django)


def test_multiple_selects_every_match():
    ours = FastSelect(choices=CHOICES)
    ours.allow_multiple_selected = True
    html = ours.render("x", ["me", "a"])
    assert html.count(" selected") == 2
    assert " multiple" in html


def test_labels_and_values_are_escaped():
    html = FastSelect(choices=[('"><script>', "<script>alert(1)</script>")]).render("x", "")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
