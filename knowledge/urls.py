"""Knowledge base URLs, all in the "knowledge" namespace (helpdesk/urls.py mounts `patterns`):
`agent_patterns` under /agent/kb/, `public_patterns` (the customers' site) under /kb/, and
`root_patterns` at the host's root (sitemap.xml, robots.txt)."""

from django.urls import include, path

from . import views, views_deflect, views_insights, views_public, views_ticket

agent_patterns = [
    path("", views.article_list, name="agent_index"),
    path("review/", views.review_queue, name="review_queue"),
    path("stale/", views.stale_list, name="stale"),
    path("new/", views.article_new, name="article_new"),
    path("preview/", views.markdown_preview, name="preview"),
    path("suggest/", views.suggest, name="suggest"),
    path("picker/", views_ticket.article_picker, name="article_picker"),
    path("articles/<int:article_id>/", views.article_detail, name="article"),
    path("articles/<int:article_id>/edit/", views.article_edit, name="article_edit"),
    path("articles/<int:article_id>/status/", views.article_status, name="article_status"),
    path("articles/<int:article_id>/history/", views.article_history, name="article_history"),
    path(
        "articles/<int:article_id>/versions/<int:version_id>/restore/",
        views.version_restore,
        name="version_restore",
    ),
    path("articles/<int:article_id>/translate/", views.article_translate, name="translate"),
    path("articles/<int:article_id>/files/", views.attachment_upload, name="file_upload"),
    path("files/<int:file_id>/", views.attachment_download, name="file"),
    path("files/<int:file_id>/delete/", views.attachment_remove, name="file_delete"),
    path("categories/", views.categories, name="categories"),
    path("categories/<int:category_id>/", views.category_edit, name="category_edit"),
    path("categories/<int:category_id>/delete/", views.category_delete, name="category_delete"),
    path("sections/<int:section_id>/", views.section_edit, name="section_edit"),
    path("sections/<int:section_id>/delete/", views.section_delete, name="section_delete"),
    path("faq/", views.faq_list, name="faq"),
    path("faq/<int:faq_id>/", views.faq_edit, name="faq_edit"),
    path("faq/<int:faq_id>/delete/", views.faq_delete, name="faq_delete"),
]

public_patterns = [
    path("", views_public.index, name="index"),
    path("search/", views_public.search_results, name="search"),
    path("categories/<str:category_slug>/", views_public.category, name="category"),
    path(
        "categories/<str:category_slug>/<str:section_slug>/", views_public.section, name="section"
    ),
    path("articles/<str:slug>/", views_public.article_detail, name="article_public"),
    path("articles/<str:slug>/feedback/", views_public.article_feedback, name="article_feedback"),
    path("faq/<str:faq_slug>/", views_public.faq, name="faq_public"),
    path("files/<int:file_id>/", views_public.file_public, name="file_public"),
]
root_patterns = [
    path("sitemap.xml", views_public.sitemap, name="sitemap"),
    path("sitemap-<int:sitemap_page>.xml", views_public.sitemap_page, name="sitemap_page"),
    path("robots.txt", views_public.robots, name="robots"),
    path("brand/logo", views_public.brand_logo, name="brand_logo"),
]

# Suggestions while a visitor writes a request (channels_in's request form), under /kb/deflect/.
deflect_patterns = [
    path("suggestions/", views_deflect.suggestions, name="deflect"),
    path("solved/", views_deflect.solved, name="deflect_solved"),
]

patterns = [
    path("agent/kb/insights/", views_insights.self_service, name="insights"),
    path("agent/kb/", include(agent_patterns)),
    path("kb/deflect/", include(deflect_patterns)),
    path("kb/", include(public_patterns)),
    *root_patterns,
]
