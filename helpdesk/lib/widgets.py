"""Form widgets written in Python, for pages that render on every request of an agent's day.

Django renders each widget through two or three nested templates (input.html, attrs.html, one
per <option>); on the inbox and the ticket page that was 5–12 ms of a 50 ms budget
(bench/inbox.py). Both tools below write the same markup as Django's templates, escaped the same
way (tests/lib/test_widgets.py compares them):

- `FastFormRenderer` (settings.FORM_RENDERER) renders Django's own <input>, <textarea> and
  <select> widget templates in Python and hands every other template to the template engine, so a
  project template that overrides one of them wins (see `_overridden`).
- `FastSelect` for selects with many options (agents' names): it skips building an option
  dict per choice, which the renderer alone cannot avoid.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.renderers import DjangoTemplates
from django.template import TemplateDoesNotExist
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe


class FastSelect(forms.Select):
    """forms.Select with the HTML built in Python: same attributes, same escaping, the first
    matching option selected (several when `allow_multiple_selected`)."""

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        final_attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final_attrs["multiple"] = True
        wanted = set(self.format_value(value))
        state = {"more": True}
        parts = [f'<select name="{conditional_escape(name)}"{_attrs(final_attrs)}>']
        for option_value, option_label in self.choices:
            if isinstance(option_label, (list, tuple)):
                parts.append(f'<optgroup label="{conditional_escape(option_value)}">')
                parts.extend(self._option(v, lab, wanted, state) for v, lab in option_label)
                parts.append("</optgroup>")
            else:
                parts.append(self._option(option_value, option_label, wanted, state))
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 (names, values and labels escaped above)

    def _option(self, value: Any, label: Any, wanted: set[str], state: dict) -> str:
        value = "" if value is None else str(value)
        selected = ""
        if state["more"] and value in wanted:
            selected = " selected"
            state["more"] = self.allow_multiple_selected
        return (
            f'<option value="{conditional_escape(value)}"{selected}>'
            f"{conditional_escape(label)}</option>"
        )


def _attrs(attrs: dict) -> str:
    """As django/forms/widgets/attrs.html: in order, True as a bare name, False left out."""
    return "".join(
        f" {conditional_escape(k)}"
        if v is True
        else f' {conditional_escape(k)}="{conditional_escape(str(v))}"'
        for k, v in attrs.items()
        if v is not False
    )


def _input(widget: dict) -> str | None:
    value = widget["value"]
    shown = "" if value is None else f' value="{conditional_escape(str(value))}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"{shown}{_attrs(widget["attrs"])}>\n'
    )


def _textarea(widget: dict) -> str | None:
    value = widget["value"]
    text = conditional_escape(str(value)) if value else ""
    return (
        f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{text}</textarea>\n"
    )


def _select(widget: dict) -> str | None:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'<optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            if option["template_name"] != "django/forms/widgets/select_option.html":
                return None  # a custom option template: let the template engine do it all
            parts.append(
                f'<option value="{conditional_escape(str(option["value"]))}"'
                f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>"
            )
        if group_name:
            parts.append("</optgroup>")
    parts.append("</select>\n")
    return "".join(parts)


_INPUTS = ("checkbox", "color", "date", "datetime", "email", "file", "hidden", "number")
_INPUTS += ("password", "search", "tel", "text", "time", "url")
_IN_PYTHON = {f"django/forms/widgets/{name}.html": _input for name in _INPUTS}
_IN_PYTHON["django/forms/widgets/textarea.html"] = _textarea
_IN_PYTHON["django/forms/widgets/select.html"] = _select


class FastFormRenderer(DjangoTemplates):
    """Django's default form renderer, with the plain input and textarea widgets in Python."""

    def __init__(self) -> None:
        super().__init__()
        self._fast: dict | None = None

    def render(self, template_name: str, context: dict, request: Any = None) -> str:
        if self._fast is None:
            self._fast = {k: f for k, f in _IN_PYTHON.items() if not self._overridden(k)}
        fast = self._fast.get(template_name)
        html = fast(context["widget"]) if fast is not None and "widget" in context else None
        if html is not None:
            return html
        return super().render(template_name, context, request)

    def _overridden(self, template_name: str) -> bool:
        """Whether an app's template replaces Django's own widget template."""
        try:
            origin = self.get_template(template_name).origin.name
        except TemplateDoesNotExist:
            return False
        return "/django/forms/templates/" not in str(origin).replace("\\", "/")
