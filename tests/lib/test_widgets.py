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


# --- FastFormRenderer -----------------------------------------------------------------------


class EveryInput(forms.Form):
    text = forms.CharField(help_text="Help", max_length=20)
    email = forms.EmailField(required=False)
    number = forms.IntegerField(min_value=1)
    decimal = forms.DecimalField(required=False)
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)
    search = forms.CharField(widget=forms.SearchInput(attrs={"placeholder": 'Say "hi" & <go>'}))
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    url = forms.URLField(required=False)
    checkbox = forms.BooleanField(required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    status = forms.ChoiceField(choices=CHOICES[:4], required=False)
    grouped = forms.ChoiceField(choices=CHOICES, required=False)
    several = forms.MultipleChoiceField(choices=CHOICES, required=False)


def _fields_html(form: forms.Form) -> list[str]:
    return [_tight(str(form[name])) for name in form.fields]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"text": "<b>bold</b> & \"q\"", "number": "7", "body": "line 1\n<script>x</script>",
         "checkbox": "on", "password": "s3cret", "search": "", "decimal": "1.5",
         "status": "7", "grouped": "b", "several": ["me", "a"]},
        {"number": "not a number", "email": "nope", "body": ""},  # errors: aria-invalid
    ],
)  # fmt: skip
def test_renderer_writes_what_django_templates_write(data):
    from django.forms.renderers import DjangoTemplates

    from helpdesk.lib.widgets import FastFormRenderer

    ours = EveryInput(data, renderer=FastFormRenderer())
    django = EveryInput(data, renderer=DjangoTemplates())
    assert _fields_html(ours) == _fields_html(django)
    assert set(ours.renderer._fast) >= {  # the Python path was taken, not the fallback
        "django/forms/widgets/text.html",
        "django/forms/widgets/textarea.html",
        "django/forms/widgets/select.html",
    }


def test_renderer_is_the_project_setting():
    from django.forms.renderers import get_default_renderer

    from helpdesk.lib.widgets import FastFormRenderer

    assert isinstance(get_default_renderer(), FastFormRenderer)
