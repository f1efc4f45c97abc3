from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"

    def ready(self) -> None:
        # Auto-replies suggest up to three articles ({{ kb.articles }}) through this hook.
        from tickets.automation import autoreply

        from .suggest import article_suggester

        if article_suggester not in autoreply.ARTICLE_SUGGESTERS:
            autoreply.ARTICLE_SUGGESTERS.append(article_suggester)
