"""Knowledge base writes. Keyword-only, atomic, each leaving a trace: an ArticleVersion for
every saved text, an ArticleEvent for every workflow step (the article's history), an
AuditEvent for categories, sections and FAQ collections (the settings timeline).

Workflow: draft → review → published → archived (→ draft again). Any staff member writes and
submits drafts; publishing, archiving, marking as reviewed and changing a published article
belong to administrators and the article's reviewer (`can_publish`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.services import audit
from tickets.attachments import AttachmentError, attachment_validate

from . import markdown
from .models import (
    Article,
    ArticleAttachment,
    ArticleEvent,
    ArticleFeedback,
    ArticleVersion,
    Category,
    FAQCollection,
    FAQItem,
    RelatedArticle,
    Section,
)
from .search import index_fields

Status = Article.Status
MAX_RELATED = 10

__all__ = ["AttachmentError", "KnowledgeError"]


class KnowledgeError(ValueError):
    """A refused change; the message says why, for the person who tried."""


# --- Who may do what ------------------------------------------------------------------------


def _role(user: User) -> str | None:
    membership = Membership.objects.filter(user=user, is_active=True).only("role").first()
    return membership.role if membership else None


def can_publish(user: User, article: Article, *, role: str | None = None) -> bool:
    """Administrators, and the article's reviewer."""
    role = role or _role(user)
    return role == Membership.Role.ADMIN or (
        article.reviewer_id is not None and article.reviewer_id == user.pk and role is not None
    )


def can_edit(user: User, article: Article, *, role: str | None = None) -> bool:
    """Any staff member edits drafts and articles in review; a published or archived
    article only those who may publish it."""
    role = role or _role(user)
    if role is None:
        return False
    if article.status in (Status.DRAFT, Status.REVIEW):
        return True
    return can_publish(user, article, role=role)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise KnowledgeError(message)


# --- Helpers --------------------------------------------------------------------------------


def _unique_slug(title: str, language: str, *, exclude_id: int | None = None) -> str:
    base = slugify(title, allow_unicode=True)[:100].strip("-") or "article"
    taken = set(
        Article.objects.filter(language=language, slug__startswith=base)
        .exclude(pk=exclude_id)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _render(article: Article) -> None:
    article.body_html = markdown.render(article.body)
    article.body_text = markdown.html_to_text(article.body_html)
    article.search_title, article.search_body = index_fields(article.title, article.body_text)


def _snapshot(article: Article, actor: User | None, note: str) -> ArticleVersion:
    return ArticleVersion.objects.create(
        article=article, number=article.version, title=article.title, body=article.body,
        author=actor, note=note[:200],
    )  # fmt: skip


def _event(article: Article, actor: User | None, kind: str, **data) -> ArticleEvent:
    return ArticleEvent.objects.create(article=article, actor=actor, kind=kind, data=data)


def _review_due(article: Article) -> None:
    reviewed = article.last_reviewed_at or article.published_at
    article.review_due_at = (
        reviewed + timedelta(days=article.review_every_days)
        if reviewed and article.review_every_days
        else None
    )


def _set_related(article: Article, related: Iterable[Article]) -> None:
    wanted = [r for r in related if r.pk != article.pk][:MAX_RELATED]
    RelatedArticle.objects.filter(article=article).delete()
    RelatedArticle.objects.bulk_create(
        RelatedArticle(article=article, related=r, position=i) for i, r in enumerate(wanted)
    )


def _check_section(section: Section) -> None:
    # The tenant-safe composite foreign key refuses another tenant's section at commit; this
    # says so at once, in words.
    if not Section.objects.filter(pk=section.pk).exists():
        raise KnowledgeError(_("That section does not exist."))


# --- Articles -------------------------------------------------------------------------------


@transaction.atomic
def article_create(
    *,
    actor: User | None,
    section: Section,
    title: str,
    body: str = "",
    language: str,
    visibility: str = Article.Visibility.PUBLIC,
    reviewer: User | None = None,
    review_every_days: int = 180,
    related: Iterable[Article] = (),
    translation_group=None,
    note: str = "",
) -> Article:
    """A new draft, version 1."""
    _check_section(section)
    article = Article(
        section=section, title=title.strip(), body=body, language=language,
        visibility=visibility, author=actor, reviewer=reviewer,
        review_every_days=review_every_days,
    )  # fmt: skip
    if translation_group is not None:
        article.translation_group = translation_group
    article.slug = _unique_slug(article.title, language)
    _render(article)
    try:
        with transaction.atomic():
            article.save()
    except IntegrityError as error:
        raise KnowledgeError(_("This article already has a version in that language.")) from error
    _snapshot(article, actor, note or _("Created"))
    _set_related(article, related)
    _event(article, actor, "created", language=language)
    return article


@transaction.atomic
def article_update(
    *,
    article: Article,
    actor: User,
    expected_version: int | None = None,
    title: str,
    body: str,
    section: Section,
    visibility: str,
    reviewer: User | None,
    review_every_days: int,
    related: Iterable[Article] | None = None,
    note: str = "",
) -> Article:
    """Save a new version of the text and the article's settings. With `expected_version`,
    an edit made on an older version than the stored one is refused (someone saved since)."""
    locked = Article.objects.select_for_update().get(pk=article.pk)
    _require(can_edit(actor, locked),
             _("Only an administrator or the article's reviewer can change a published "
               "article."))  # fmt: skip
    if expected_version is not None and locked.version != expected_version:
        raise KnowledgeError(
            _("Someone saved this article since you opened it. Reload to see their version.")
        )
    _check_section(section)
    text_changed = (locked.title, locked.body) != (title.strip(), body)
    locked.title, locked.body = title.strip(), body
    locked.section, locked.visibility = section, visibility
    locked.reviewer, locked.review_every_days = reviewer, review_every_days
    if text_changed:
        locked.version += 1
        _render(locked)
    _review_due(locked)
    locked.save()
    if text_changed:
        _snapshot(locked, actor, note)
    if related is not None:
        _set_related(locked, related)
    _event(locked, actor, "updated", version=locked.version, text_changed=text_changed)
    return locked


def _transition(article: Article, actor: User, kind: str, to: str, allowed_from: set[str],
                **changes) -> Article:  # fmt: skip
    updated = Article.objects.filter(pk=article.pk, status__in=allowed_from).update(
        status=to, updated_at=timezone.now(), **changes
    )
    if not updated:
        raise KnowledgeError(_("This article has moved on since you opened it. Reload it."))
    article.refresh_from_db()
    _event(article, actor, kind, status=to)
    return article


@transaction.atomic
def article_submit(*, article: Article, actor: User) -> Article:
    """Draft → in review; the reviewer (or, without one, the administrators) is told."""
    _require(can_edit(actor, article), _("You cannot submit this article."))
    article = _transition(article, actor, "submitted", Status.REVIEW, {Status.DRAFT})
    from tickets.automation.notifications import notify

    recipients = [article.reviewer_id] if article.reviewer_id else list(
        Membership.objects.filter(role=Membership.Role.ADMIN, is_active=True)
        .values_list("user_id", flat=True)
    )  # fmt: skip
    notify(
        recipients=[r for r in recipients if r != actor.pk],
        title=_("“%(title)s” is waiting for your review") % {"title": article.title},
        url=reverse("knowledge:article", kwargs={"article_id": article.pk}),
        key=f"kb-review:{article.pk}:{article.version}",
    )
    return article


@transaction.atomic
def article_publish(*, article: Article, actor: User) -> Article:
    """Draft or in review → published (administrators and the reviewer)."""
    _require(can_publish(actor, article),
             _("Only an administrator or the article's reviewer can publish it."))  # fmt: skip
    now = timezone.now()
    reviewed = {"last_reviewed_at": now}
    if article.review_every_days:
        reviewed["review_due_at"] = now + timedelta(days=article.review_every_days)
    return _transition(
        article, actor, "published", Status.PUBLISHED, {Status.DRAFT, Status.REVIEW},
        published_at=article.published_at or now, **reviewed,
    )  # fmt: skip


@transaction.atomic
def article_return_to_draft(*, article: Article, actor: User) -> Article:
    """In review → draft (the author withdraws it, or a reviewer sends it back);
    archived → draft (to bring it back)."""
    if article.status == Status.ARCHIVED:
        _require(can_publish(actor, article),
                 _("Only an administrator or the article's reviewer can restore it."))  # fmt: skip
    else:
        _require(can_edit(actor, article), _("You cannot change this article."))
    return _transition(article, actor, "returned", Status.DRAFT, {Status.REVIEW, Status.ARCHIVED})


@transaction.atomic
def article_archive(*, article: Article, actor: User) -> Article:
    _require(can_publish(actor, article),
             _("Only an administrator or the article's reviewer can archive it."))  # fmt: skip
    return _transition(article, actor, "archived", Status.ARCHIVED,
                       {Status.DRAFT, Status.REVIEW, Status.PUBLISHED})  # fmt: skip


@transaction.atomic
def article_mark_reviewed(*, article: Article, actor: User) -> Article:
    """Someone checked a published article is still right: the review clock starts again."""
    _require(
        can_publish(actor, article),
        _("Only an administrator or the article's reviewer can mark it reviewed."),
    )
    now = timezone.now()
    due = now + timedelta(days=article.review_every_days) if article.review_every_days else None
    return _transition(article, actor, "reviewed", Status.PUBLISHED, {Status.PUBLISHED},
                       last_reviewed_at=now, review_due_at=due)  # fmt: skip


@transaction.atomic
def article_restore(*, article: Article, version: ArticleVersion, actor: User) -> Article:
    """Bring back an old version's title and text, as a new version."""
    if version.article_id != article.pk:
        raise KnowledgeError(_("That version belongs to another article."))
    restored = article_update(
        article=article, actor=actor, title=version.title, body=version.body,
        section=article.section, visibility=article.visibility, reviewer=article.reviewer,
        review_every_days=article.review_every_days,
        note=_("Restored version %(n)s") % {"n": version.number},
    )  # fmt: skip
    _event(restored, actor, "restored", version=version.number)
    return restored


@transaction.atomic
def article_translate(*, article: Article, language: str, actor: User) -> Article:
    """A draft in `language` linked to `article`'s translations, starting from its text;
    the existing one if that language has one already."""
    existing = Article.objects.filter(
        translation_group=article.translation_group, language=language
    ).first()
    if existing:
        return existing
    translation = article_create(
        actor=actor, section=article.section, title=article.title, body=article.body,
        language=language, visibility=article.visibility, reviewer=article.reviewer,
        review_every_days=article.review_every_days,
        translation_group=article.translation_group,
        note=_("Translation started from “%(title)s”") % {"title": article.title},
    )  # fmt: skip
    _event(article, actor, "translation_started", language=language, translation=translation.pk)
    return translation


def article_view_record(*, article: Article) -> None:
    """One more view (the public page calls this; a single UPDATE, no lock held)."""
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)


@transaction.atomic
def article_feedback_record(
    *,
    article: Article,
    helpful: bool,
    comment: str = "",
    contact=None,
    session_key: str = "",
) -> ArticleFeedback:
    """ "Was this helpful?" from a signed-in contact or an anonymous session: one answer per
    visitor; answering again replaces the answer and moves the counts."""
    if contact is None and not session_key:
        raise KnowledgeError(_("Feedback needs a visitor."))
    if not (article.is_published and article.is_public):
        raise KnowledgeError(_("This article is not published."))
    who = (
        {"contact": contact}
        if contact is not None
        else {"contact__isnull": True, "session_key": session_key}
    )
    existing = ArticleFeedback.objects.select_for_update().filter(article=article, **who).first()
    counts = {"helpful_count": F("helpful_count"), "not_helpful_count": F("not_helpful_count")}
    if existing is None:
        feedback = ArticleFeedback.objects.create(
            article=article, helpful=helpful, comment=comment[:2000], contact=contact,
            session_key="" if contact is not None else session_key[:64],
        )  # fmt: skip
        key = "helpful_count" if helpful else "not_helpful_count"
        counts[key] = F(key) + 1
    else:
        if existing.helpful != helpful:
            old, new = (("not_helpful_count", "helpful_count") if helpful
                        else ("helpful_count", "not_helpful_count"))  # fmt: skip
            counts[old], counts[new] = F(old) - 1, F(new) + 1
        existing.helpful = helpful
        existing.comment = comment[:2000] or existing.comment
        existing.save(update_fields=["helpful", "comment", "updated_at"])
        feedback = existing
    Article.objects.filter(pk=article.pk).update(**counts)
    return feedback


# --- Attachments ----------------------------------------------------------------------------


@transaction.atomic
def attachment_add(*, article: Article, upload: UploadedFile, actor: User) -> ArticleAttachment:
    """Validated like ticket attachments (size, no executables); stored under the tenant."""
    _require(can_edit(actor, article), _("You cannot change this article."))
    name = attachment_validate(upload)
    content_type = (
        getattr(upload, "content_type", None)
        or mimetypes.guess_type(name)[0]
        or "application/octet-stream"
    )
    attachment = ArticleAttachment(
        article=article, filename=name, content_type=content_type[:100], size=upload.size,
        uploaded_by=actor,
    )  # fmt: skip
    attachment.tenant_id = article.tenant_id
    attachment.file.save(name, upload, save=False)
    attachment.save()
    _event(article, actor, "file_added", filename=name)
    return attachment


@transaction.atomic
def attachment_delete(*, attachment: ArticleAttachment, actor: User) -> None:
    article = attachment.article
    _require(can_edit(actor, article), _("You cannot change this article."))
    name = attachment.filename
    stored = attachment.file.name
    attachment.delete()
    storage = attachment.file.storage
    transaction.on_commit(lambda: storage.delete(stored))
    _event(article, actor, "file_removed", filename=name)


# --- Categories and sections ----------------------------------------------------------------


def _slug_for(model, name: str, *, exclude_id: int | None, **scope) -> str:
    base = slugify(name, allow_unicode=True)[:70].strip("-") or model._meta.model_name
    taken = set(
        model.objects.filter(slug__startswith=base, **scope)
        .exclude(pk=exclude_id)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def category_save(
    *,
    actor: User,
    category: Category | None = None,
    name: str,
    description: str = "",
    icon: str = "book",
    position: int = 0,
) -> Category:
    category = category or Category()
    created = category.pk is None
    category.name, category.description = name.strip(), description.strip()
    category.icon, category.position = icon, position
    if created or not category.slug:
        category.slug = _slug_for(Category, category.name, exclude_id=category.pk)
    category.save()
    audit(actor=actor, action="kb.category_created" if created else "kb.category_updated",
          summary=_("Knowledge base category “%(name)s” saved") % {"name": category.name},
          category=category.pk)  # fmt: skip
    return category


@transaction.atomic
def category_delete(*, actor: User, category: Category) -> None:
    if category.sections.exists():
        raise KnowledgeError(_("Move or delete its sections first."))
    name = category.name
    category.delete()
    audit(actor=actor, action="kb.category_deleted",
          summary=_("Knowledge base category “%(name)s” deleted") % {"name": name})  # fmt: skip


@transaction.atomic
def section_save(*, actor: User, section: Section | None = None, category: Category, name: str,
                 position: int = 0) -> Section:  # fmt: skip
    if not Category.objects.filter(pk=category.pk).exists():
        raise KnowledgeError(_("That category does not exist."))
    section = section or Section()
    created = section.pk is None
    moved = not created and section.category_id != category.pk
    section.category, section.name, section.position = category, name.strip(), position
    if created or moved or not section.slug:
        section.slug = _slug_for(Section, section.name, exclude_id=section.pk,
                                 category=category)  # fmt: skip
    section.save()
    audit(actor=actor, action="kb.section_created" if created else "kb.section_updated",
          summary=_("Knowledge base section “%(name)s” saved") % {"name": section.name},
          section=section.pk)  # fmt: skip
    return section


@transaction.atomic
def section_delete(*, actor: User, section: Section) -> None:
    if section.articles.exists():
        raise KnowledgeError(_("Move its articles to another section first."))
    name = section.name
    section.delete()
    audit(actor=actor, action="kb.section_deleted",
          summary=_("Knowledge base section “%(name)s” deleted") % {"name": name})  # fmt: skip


# --- FAQ collections ------------------------------------------------------------------------


@transaction.atomic
def faq_save(*, actor: User, collection: FAQCollection | None = None, name: str, language: str,
             description: str = "", position: int = 0) -> FAQCollection:  # fmt: skip
    collection = collection or FAQCollection()
    created = collection.pk is None
    collection.name, collection.language = name.strip(), language
    collection.description, collection.position = description.strip(), position
    if created or not collection.slug:
        collection.slug = _slug_for(FAQCollection, collection.name, exclude_id=collection.pk,
                                    language=language)  # fmt: skip
    collection.save()
    audit(actor=actor, action="kb.faq_saved",
          summary=_("FAQ collection “%(name)s” saved") % {"name": collection.name},
          collection=collection.pk)  # fmt: skip
    return collection


@transaction.atomic
def faq_delete(*, actor: User, collection: FAQCollection) -> None:
    name = collection.name
    collection.delete()
    audit(actor=actor, action="kb.faq_deleted",
          summary=_("FAQ collection “%(name)s” deleted") % {"name": name})  # fmt: skip


@transaction.atomic
def faq_add(*, actor: User, collection: FAQCollection, article: Article) -> FAQItem:
    if article.language != collection.language:
        raise KnowledgeError(_("The article is in another language than the collection."))
    last = collection.items.order_by("-position").values_list("position", flat=True).first()
    item, _created = FAQItem.objects.get_or_create(
        collection=collection, article=article, defaults={"position": (last or 0) + 1}
    )
    return item


@transaction.atomic
def faq_remove(*, actor: User, collection: FAQCollection, item_id: int) -> None:
    FAQItem.objects.filter(collection=collection, pk=item_id).delete()


@transaction.atomic
def faq_move(*, actor: User, collection: FAQCollection, item_id: int, direction: str) -> None:
    """Swap an item with its neighbour; positions are renumbered 1…n on the way."""
    items = list(collection.items.select_for_update().order_by("position", "id"))
    index = next((i for i, item in enumerate(items) if item.pk == item_id), None)
    if index is None:
        return
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
    for position, item in enumerate(items, start=1):
        if item.position != position:
            item.position = position
            item.save(update_fields=["position"])


# --- From the agent's ticket page -----------------------------------------------------------


def can_draft(user: User, *, role: str | None = None) -> bool:
    """Who may start an article (from a ticket too): any staff member writes drafts, and a
    new article is a draft (`can_edit` of a draft)."""
    return can_edit(user, Article(status=Status.DRAFT), role=role or _role(user))


@transaction.atomic
def article_create_from_ticket(*, actor: User, ticket, **fields) -> Article:
    """`article_create` for a draft written from `ticket` (a tickets.models.Ticket), with the
    trace on both sides: an ArticleEvent "created from ticket #N" and a TicketEvent "article
    drafted from this ticket" (through tickets.services.event)."""
    from tickets.services import event as ticket_event

    _require(can_draft(actor), _("Only staff members can write articles."))
    article = article_create(actor=actor, **fields)
    _event(article, actor, "created_from_ticket", ticket=ticket.number)
    ticket_event(ticket=ticket, kind="article_drafted", actor=actor, article_id=article.pk,
                 title=article.title)  # fmt: skip
    return article
