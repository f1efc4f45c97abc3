"""Knowledge base: categories and sections, articles (versions, languages, public/internal),
FAQ collections, related articles, attachments, feedback and the search log.

Writes go through knowledge.services, reads through knowledge.selectors (the customer-facing
ones never return an internal or unpublished article) and knowledge.search.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import TenantModel

LANGUAGES = settings.LANGUAGES
# Icons of the design system's sprite a category may show (docs/ui.md).
CATEGORY_ICONS = [
    ("book", _("Book")),
    ("lifebuoy", _("Lifebuoy")),
    ("briefcase", _("Briefcase")),
    ("key", _("Key")),
    ("mail", _("Mail")),
    ("shield", _("Shield")),
    ("settings", _("Settings")),
    ("star", _("Star")),
    ("tag", _("Tag")),
    ("users", _("People")),
    ("zap", _("Lightning")),
    ("file", _("File")),
]


class Category(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("address"), max_length=80, allow_unicode=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    icon = models.CharField(_("icon"), max_length=20, choices=CATEGORY_ICONS, default="book")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="kb_category_slug_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class Section(TenantModel):
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="sections", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("address"), max_length=80, allow_unicode=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("section")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "category", "slug"], name="kb_section_slug_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Article(TenantModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        INTERNAL = "internal", _("Internal (agents only)")

    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="articles", verbose_name=_("section")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGES)
    # Every translation of one article shares a group; one article per language in a group.
    translation_group = models.UUIDField(default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("address"), max_length=120, allow_unicode=True)
    body = models.TextField(_("text (Markdown)"), blank=True)
    body_html = models.TextField(blank=True, editable=False)  # rendered + sanitised (nh3)
    body_text = models.TextField(blank=True, editable=False)  # plain text, for snippets
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("owner"),
    )  # fmt: skip
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("reviewer"),
    )  # fmt: skip
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    last_reviewed_at = models.DateTimeField(_("last reviewed"), null=True, blank=True)
    review_every_days = models.PositiveSmallIntegerField(_("review every (days)"), default=180)
    # last_reviewed_at + review_every_days, kept by the services: the stale list and the
    # reminder sweep read this one indexed column.
    review_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    view_count = models.PositiveIntegerField(default=0, editable=False)
    helpful_count = models.PositiveIntegerField(default=0, editable=False)
    not_helpful_count = models.PositiveIntegerField(default=0, editable=False)
    # Bumped by every saved change: an edit made on an older version is a conflict.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Search (knowledge.search): segmented text (jieba for Chinese) and its tsvector.
    search_title = models.TextField(blank=True, default="", editable=False)
    search_body = models.TextField(blank=True, default="", editable=False)
    search_vector = models.GeneratedField(
        expression=SearchVector("search_title", config="simple", weight="A")
        + SearchVector("search_body", config="simple", weight="B"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        verbose_name = _("article")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "language", "slug"], name="kb_article_slug_uniq"
            ),
            models.UniqueConstraint(
                fields=["tenant", "translation_group", "language"],
                name="kb_article_translation_uniq",
            ),
        ]
        indexes = [
            # Search and the public lists read one tenant's articles of one language and
            # status (row-level security keeps the GIN index from being used for the tenant;
            # bench/README.md "kb_search").
            models.Index(
                fields=["tenant", "language", "status", "visibility"], name="kb_article_lookup"
            ),
            models.Index(fields=["tenant", "-updated_at", "-id"], name="kb_article_recent"),
            models.Index(fields=["tenant", "section", "status"], name="kb_article_section"),
            models.Index(fields=["tenant", "translation_group"], name="kb_article_group"),
            models.Index(
                fields=["tenant", "review_due_at"],
                name="kb_article_review_due",
                condition=Q(status="published"),
            ),
            GinIndex(fields=["search_vector"], name="kb_article_search_gin"),
            GinIndex(
                fields=["search_title"], name="kb_article_title_trgm", opclasses=["gin_trgm_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class ArticleVersion(TenantModel):
    """A full snapshot of an article's title and text, written on every save."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "article", "number"], name="kb_version_number_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class ArticleEvent(TenantModel):
    """The article's audit trail: created, submitted, published, archived, restored …"""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "article", "-created_at"], name="kb_event_trail")]


class RelatedArticle(TenantModel):
    """An explicit "see also" link, in the order the editor chose."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="related_links")
    related = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "article", "related"], name="kb_related_uniq"
            ),
            models.CheckConstraint(
                condition=~Q(article=models.F("related")), name="kb_related_not_self"
            ),
        ]


class FAQCollection(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("address"), max_length=80, allow_unicode=True)
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGES)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("FAQ collection")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "language", "slug"], name="kb_faq_slug_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class FAQItem(TenantModel):
    collection = models.ForeignKey(FAQCollection, on_delete=models.CASCADE, related_name="items")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "collection", "article"], name="kb_faq_item_uniq"
            )
        ]


def attachment_path(instance: ArticleAttachment, filename: str) -> str:
    return f"tenants/{instance.tenant_id}/kb/{instance.article_id}/{filename}"


class ArticleAttachment(TenantModel):
    """A file or image of an article. Markdown refers to it as `attachment:<id>`; it is served
    only through a permission-checked view (raster images inline, everything else, SVG and
    HTML included, as a download)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        from .markdown import inline_image_allowed

        return inline_image_allowed(self.content_type, self.filename)


class ArticleFeedback(TenantModel):
    """ "Was this helpful?": one answer per visitor per article (a signed-in contact, or an
    anonymous browser session); answering again changes the answer."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True, max_length=2000)
    contact = models.ForeignKey(
        "tickets.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "article", "contact"],
                condition=Q(contact__isnull=False),
                name="kb_feedback_contact_uniq",
            ),
            models.UniqueConstraint(
                fields=["tenant", "article", "session_key"],
                condition=Q(contact__isnull=True) & ~Q(session_key=""),
                name="kb_feedback_session_uniq",
            ),
        ]


class SearchLog(TenantModel):
    """Searches that found nothing, for the "questions without an article" report. Kept
    RETENTION_DAYS (knowledge.tasks.purge_search_logs)."""

    RETENTION_DAYS = 90

    query = models.CharField(max_length=200)
    language = models.CharField(max_length=10, blank=True)
    audience = models.CharField(max_length=10)
    result_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="kb_searchlog_recent"),
            models.Index(fields=["created_at"], name="kb_searchlog_purge"),
        ]


class Deflection(TenantModel):
    """One "submit a request" flow in which the visitor was shown articles while typing, and
    how it ended: an article solved it (a deflection), or they sent the request anyway. The
    flow is the request form's one-time token, so a flow is one row however often it types."""

    class Outcome(models.TextChoices):
        SHOWN = "shown", _("Suggestions shown")
        SOLVED = "solved", _("Solved by an article")
        SUBMITTED = "submitted", _("Request sent anyway")

    MAX_SHOWN = 20

    flow = models.CharField(max_length=64)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SHOWN)
    article = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="deflections"
    )
    shown_articles = models.JSONField(default=list, blank=True)
    query = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=10, blank=True)
    ticket_number = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="kb_deflection_recent")]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "flow"], name="kb_deflection_flow_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.flow}: {self.outcome}"
