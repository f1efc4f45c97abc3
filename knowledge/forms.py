"""Forms of the agent/admin knowledge pages. They validate and offer choices; the writes are
knowledge.services'."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Membership

from . import selectors
from .models import CATEGORY_ICONS, Article, Category, FAQCollection, Section

REVIEWED_CHOICES = [
    ("", _("Any time")),
    ("90", _("More than 90 days ago")),
    ("180", _("More than 180 days ago")),
    ("365", _("More than a year ago")),
]


class ArticleFilterForm(forms.Form):
    """The list's filters: every value from a fixed set of choices (never an ORM lookup)."""

    q = forms.CharField(label=_("Search articles"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Article.Status.choices]
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Any language")), *settings.LANGUAGES]
    )
    category = forms.TypedChoiceField(
        label=_("Category"), required=False, coerce=int, empty_value=None
    )
    visibility = forms.ChoiceField(
        label=_("Visibility"), required=False,
        choices=[("", _("Public and internal")), *Article.Visibility.choices],
    )  # fmt: skip
    reviewed = forms.TypedChoiceField(
        label=_("Last reviewed"), required=False, choices=REVIEWED_CHOICES, coerce=int,
        empty_value=None,
    )  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any category"))] + [
            (c.pk, c.name) for c in Category.objects.order_by("position", "name")[:200]
        ]

    def filters(self) -> selectors.ArticleFilters:
        if not self.is_valid():
            return selectors.ArticleFilters()
        data = self.cleaned_data
        return selectors.ArticleFilters(
            query=data["q"].strip(), status=data["status"], language=data["language"],
            category_id=data["category"], visibility=data["visibility"],
            reviewed_days=data["reviewed"],
        )  # fmt: skip


def _staff_choices() -> list[tuple[int, str]]:
    members = (
        Membership.objects.filter(is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")[:300]
    )
    return [(m.user_id, m.user.get_full_name() or m.user.email) for m in members]


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    section = forms.TypedChoiceField(label=_("Section"), coerce=int)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    visibility = forms.ChoiceField(
        label=_("Visibility"), choices=Article.Visibility.choices,
        widget=forms.RadioSelect,
        help_text=_("Internal articles are for agents only: never on the help centre, in "
                    "customer search or in automatic replies."),
    )  # fmt: skip
    body = forms.CharField(
        label=_("Text"), required=False, max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "true"}),
        help_text=_("Markdown: **bold**, *italic*, # headings, - lists, [links](https://…), "
                    "tables. Files below are inserted as ![name](attachment:12)."),
    )  # fmt: skip
    reviewer = forms.TypedChoiceField(
        label=_("Reviewer"), required=False, coerce=int, empty_value=None,
        help_text=_("Besides the administrators, the reviewer may publish this article."),
    )  # fmt: skip
    review_every_days = forms.IntegerField(
        label=_("Review every (days)"), min_value=0, max_value=3650, initial=180,
        help_text=_("The owner is reminded when the article is due for a check. 0: never."),
    )  # fmt: skip
    related = forms.TypedMultipleChoiceField(
        label=_("Related articles"), required=False, coerce=int,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )  # fmt: skip
    note = forms.CharField(
        label=_("What changed"), required=False, max_length=200,
        help_text=_("A short note for the version history."),
    )  # fmt: skip
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, article: Article | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.article = article
        self.fields["section"].choices = [
            (s.pk, f"{s.category.name} › {s.name}") for s in selectors.section_choices()[:500]
        ]
        self.fields["reviewer"].choices = [("", _("Nobody in particular")), *_staff_choices()]
        language = (
            article.language if article else self.data.get("language") or self.initial.get(
                "language") or settings.LANGUAGE_CODE
        )  # fmt: skip
        self.fields["related"].choices = [
            (a.pk, a.title) for a in selectors.related_choices(article, language)[:300]
        ]
        if article is not None:
            # The language of an article is fixed: its translations are articles of their own.
            self.fields["language"].disabled = True

    def clean_section(self) -> Section:
        section = Section.objects.filter(pk=self.cleaned_data["section"]).first()
        if section is None:
            raise forms.ValidationError(_("Choose a section."))
        return section

    def clean_reviewer(self) -> User | None:
        user_id = self.cleaned_data.get("reviewer")
        if not user_id:
            return None
        membership = Membership.objects.filter(user_id=user_id, is_active=True).first()
        if membership is None:
            raise forms.ValidationError(_("Choose someone on the staff."))
        return membership.user

    def clean_related(self) -> list[Article]:
        ids = self.cleaned_data.get("related") or []
        rows = Article.objects.in_bulk(ids)
        return [rows[i] for i in ids if i in rows]

    @classmethod
    def for_article(cls, article: Article, data=None) -> ArticleForm:
        initial = {
            "title": article.title, "section": article.section_id, "language": article.language,
            "visibility": article.visibility, "body": article.body,
            "reviewer": article.reviewer_id, "review_every_days": article.review_every_days,
            "related": [link.related_id for link in article.related_links.all()],
            "version": article.version,
        }  # fmt: skip
        return cls(data, article=article, initial=initial)


class PreviewForm(forms.Form):
    body = forms.CharField(required=False, max_length=200_000)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Add a file or image"))


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "description", "icon", "position"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["icon"].choices = CATEGORY_ICONS


class SectionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=32000, initial=0)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            (c.pk, c.name) for c in Category.objects.order_by("position", "name")[:200]
        ]

    def clean_category(self) -> Category:
        category = Category.objects.filter(pk=self.cleaned_data["category"]).first()
        if category is None:
            raise forms.ValidationError(_("Choose a category."))
        return category


class FAQForm(forms.ModelForm):
    class Meta:
        model = FAQCollection
        fields = ["name", "language", "description", "position"]


class FAQAddForm(forms.Form):
    article = forms.TypedChoiceField(label=_("Add an article"), coerce=int)

    def __init__(self, *args, collection: FAQCollection, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["article"].choices = [
            (a.pk, a.title) for a in selectors.related_choices(None, collection.language)[:300]
        ]

    def clean_article(self) -> Article:
        article = Article.objects.filter(pk=self.cleaned_data["article"]).first()
        if article is None:
            raise forms.ValidationError(_("Choose an article."))
        return article
