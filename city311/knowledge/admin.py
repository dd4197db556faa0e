from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from city311.catalog.actions import other_languages
from city311.catalog.admin import TranslatedAdmin
from city311.catalog.forms import translation_field
from city311.knowledge.actions import record_change
from city311.knowledge.models import Article, ArticleRevision, SearchMiss


class RevisionInline(admin.TabularInline):
    model = ArticleRevision
    extra = 0
    can_delete = False
    fields = ("number", "at", "by", "note")
    readonly_fields = ("number", "at", "by", "note")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(TranslatedAdmin):
    list_display = ["title", "status", "audience", "department", "review_by", "used_count"]
    list_filter = ["status", "audience", "department"]
    search_fields = ["title", "slug", "summary", "keywords"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["service_types", "related"]
    readonly_fields = ["preview", "published_at", "updated_at", "used_count"]
    inlines = [RevisionInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body", "keywords", "next_steps"]}),
        (
            "Publishing",
            {"fields": ["status", "audience", "department", "review_by", "preview"]},
        ),
        ("Links", {"fields": ["service_types", "related"]}),
        ("History", {"fields": ["published_at", "updated_at", "used_count"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets: list[Any] = list(super().get_fieldsets(request, obj))
        for language, name in reversed(other_languages()):
            fields = [translation_field(f, language) for f in Article.translatable]
            section = {"fields": fields, "description": f"Readers of {name}. Empty shows English."}
            fieldsets.insert(1, (name, section))
        return fieldsets

    @admin.display(description="Preview")
    def preview(self, obj: Article) -> str:
        if obj.pk is None:
            return "Save the draft to preview it."
        url = reverse("portal:help_preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">Preview as readers see it</a>', url)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Translations and links are saved here, after the row: the revision comes last.
        super().save_related(request, form, formsets, change)
        article = form.instance
        if article.status == "published" and article.published_at is None:
            from django.utils import timezone

            Article.objects.filter(pk=article.pk).update(published_at=timezone.now())
        user = request.user if request.user.is_authenticated else None
        record_change(article, by=user, note="edited in the admin")  # type: ignore[arg-type]


@admin.register(SearchMiss)
class SearchMissAdmin(admin.ModelAdmin):
    list_display = ["words", "language", "count", "last_seen"]
    ordering = ["-count"]
