"""Articles that answer residents' and call takers' questions, their history, and the one search
index over every app's documents (articles, service types, facilities, events)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.utils import timezone

from city311.catalog.models import Department, ServiceType, Translated, Translation


class Audience(models.TextChoices):
    PUBLIC = "public", "Public"
    STAFF = "staff", "Staff only"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class ArticleQuerySet(models.QuerySet["Article"]):
    def published(self) -> ArticleQuerySet:
        return self.filter(status=ArticleStatus.PUBLISHED)

    def public(self) -> ArticleQuerySet:
        return self.published().filter(audience=Audience.PUBLIC)

    def stale(self, today: date | None = None) -> ArticleQuerySet:
        """Published articles past their review-by date: the owner must check them."""
        today = today or timezone.localdate()
        return self.published().filter(review_by__lt=today)


class Article(Translated, models.Model):
    """One answer, in English (its fields) and every other language (`Translation` rows)."""

    translatable = ("title", "summary", "body", "keywords", "next_steps")

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=400, help_text="One or two sentences: the answer.")
    body = models.TextField(help_text="Markdown. Links, lists and emphasis; no raw HTML.")
    keywords = models.TextField(
        blank=True, help_text="Other words people use for this, and questions they ask."
    )
    next_steps = models.TextField(
        "what happens next",
        blank=True,
        help_text="Markdown, shown on the confirmation of a request of a related service type.",
    )
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.PUBLIC)
    status = models.CharField(
        max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
        help_text="The owner: keeps it current.",
    )
    review_by = models.DateField(null=True, blank=True, help_text="Check it by this date.")
    service_types = models.ManyToManyField(ServiceType, blank=True, related_name="articles")
    related = models.ManyToManyField("self", blank=True, symmetrical=False)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # How often call takers used this answer. Issue 17's Interactions will record each use.
    used_count = models.PositiveIntegerField(default=0)
    translations = GenericRelation(Translation)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED and self.audience == Audience.PUBLIC

    def is_stale(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return bool(self.review_by and self.review_by < today)


class ArticleRevision(models.Model):
    """The article as it stood after one change: every field, every language."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=200, blank=True)
    content = models.JSONField()

    class Meta:
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="revision_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} #{self.number}"


class SearchDocument(models.Model):
    """One searchable thing in one language, from some app's `documents()`.

    `terms` holds title and body as normalised words (`knowledge/text.py`); the full-text
    index of the engine (FTS5 on SQLite, a GIN index on PostgreSQL) is built over it.
    """

    source = models.CharField(max_length=40, help_text="The app whose documents() gave it.")
    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=120)
    language = models.CharField(max_length=16)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField("URL", max_length=300)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.PUBLIC)
    # The title's own terms; title_terms adds the keywords; terms, the body's.
    name_terms = models.TextField(blank=True)
    title_terms = models.TextField(blank=True)
    terms = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key", "language"], name="search_document_one_per_language"
            )
        ]
        indexes = [models.Index(fields=["source"], name="search_document_source")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key} ({self.language})"


class SearchSource(models.Model):
    """The version of an app's documents the index holds, for apps that say theirs."""

    source = models.CharField(max_length=40, unique=True)
    version = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.source} {self.version}"


class SearchMiss(models.Model):
    """Searches that found nothing, counted by their words: the content-gap report.

    Only words are kept: digits and anything like an e-mail address are dropped first, so no
    house number, phone number or address reaches this table.
    """

    words = models.CharField(max_length=200)
    language = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)
    last_seen = models.DateField(default=timezone.localdate)

    class Meta:
        verbose_name_plural = "search misses"
        constraints = [
            models.UniqueConstraint(fields=["words", "language"], name="search_miss_unique")
        ]

    def __str__(self) -> str:
        return f"{self.words} ({self.count})"
