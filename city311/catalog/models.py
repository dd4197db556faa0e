"""The service catalog: who handles what, what each type asks, and when the city works."""

from __future__ import annotations

from datetime import time
from typing import ClassVar

from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language


class Translation(models.Model):
    """One field of one row in one language other than English.

    English stays in the row's own field: it is the Open311 text and the fallback. Adding a
    language is a setting (CITY311_LANGUAGES) and rows here, never a migration. Any model may
    use it through `Translated` (the catalog now, the knowledge base next).
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    field = models.CharField(max_length=60)
    language = models.CharField(max_length=16)
    text = models.TextField()

    class Meta:
        constraints = [
            # Also the index every lookup of one row's translations runs on.
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field", "language"],
                name="translation_one_per_field_and_language",
            )
        ]

    def __str__(self) -> str:
        return f"{self.field} ({self.language}): {self.text[:40]}"


class CatalogVersion(models.Model):
    """One row whose token changes with every change to the catalog, in the same transaction.

    Each process keeps a snapshot of the catalog (`catalog/cache.py`) and compares tokens to
    know whether it is still current: one tiny query, whichever process or machine changed it.
    A random token rather than a counter: a rolled-back change can never leave another catalog
    under the token a snapshot was built for.
    """

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token


class Translated:
    """Text residents read, in English (the row's own field) and in every other configured
    language (`Translation` rows). The administrator edits them all; a language with no text
    for a field falls back to the English.
    """

    # The fields residents read, in the order the administrator edits them.
    translatable: ClassVar[tuple[str, ...]] = ()

    def translated(self, field: str, language: str | None = None) -> str:
        """`field` in `language` (default: the active one), else the English."""
        english = str(getattr(self, field) or "")
        language = (language or get_language() or "en").lower()
        if language == "en" or language.startswith("en-"):
            return english
        # Imported here: the cache reads these models. Catalog rows' texts come from the
        # per-process snapshot, so reading a name costs no query.
        from city311.catalog.cache import text_for

        return text_for(self, field, language) or english


code_validator = RegexValidator(
    r"^[A-Za-z0-9_.-]+$", "Use letters, digits, dots, dashes and underscores only."
)


class Department(Translated, models.Model):
    translatable = ("name",)

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    hours = models.CharField(max_length=200, blank=True, help_text="Shown to staff and callers.")
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    translations = GenericRelation(Translation)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Urgency(models.TextChoices):
    NORMAL = "normal", "Normal"
    URGENT = "urgent", "Urgent: call 311 now, top of the queue"
    EMERGENCY = "emergency", "Emergency: call 911, never a request"


class SlaUnit(models.TextChoices):
    BUSINESS_HOURS = "business_hours", "Business hours"
    CALENDAR_DAYS = "calendar_days", "Calendar days"


class ServiceType(Translated, models.Model):
    """An Open311 service: something a resident can ask for."""

    translatable = ("service_name", "description", "group", "referral")

    service_code = models.CharField(max_length=60, unique=True, validators=[code_validator])
    service_name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    group = models.CharField(max_length=80, blank=True)
    keywords = models.CharField(
        max_length=300, blank=True, help_text="Comma-separated words residents use for it."
    )
    examples = models.TextField(
        blank=True,
        help_text="How residents describe it in their own words, one phrase per line, in any "
        "language (misspellings and all): the service suggestion learns from them.",
    )
    location_required = models.BooleanField(default=True)
    contact_required = models.BooleanField(default=False)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="service_types", null=True, blank=True
    )
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    sla_amount = models.PositiveIntegerField(
        "SLA amount", null=True, blank=True, help_text="Target time to close; empty for no target."
    )
    sla_unit = models.CharField(
        "SLA unit", max_length=20, choices=SlaUnit.choices, default=SlaUnit.CALENDAR_DAYS
    )
    referral = models.TextField(
        blank=True,
        help_text="For matters another agency handles (police non-emergency line, health line): "
        "what to tell the resident. The request is still logged.",
    )
    active = models.BooleanField(default=True)
    display_order = models.PositiveIntegerField(default=100)
    publish_description = models.BooleanField(
        "publish descriptions",
        default=True,
        help_text="Show what residents wrote in Open311 and other public outputs, with phone "
        "numbers and e-mail addresses removed. Turn off for types whose descriptions tell of "
        "people or private matters: the description is then withheld (staff still read it).",
    )
    duplicate_radius_m = models.PositiveIntegerField(
        default=50,
        help_text="Open requests this close (metres) are offered as possible duplicates.",
    )
    duplicate_window_days = models.PositiveIntegerField(
        default=30, help_text="... if they were reported within this many days."
    )
    related_types = models.ManyToManyField(
        "self",
        blank=True,
        help_text="Other types whose open requests count as duplicates of this one.",
    )
    translations = GenericRelation(Translation)

    class Meta:
        ordering = ["group", "display_order", "service_name"]

    def __str__(self) -> str:
        return f"{self.service_name} ({self.service_code})"

    def clean(self) -> None:
        if self.urgency != Urgency.EMERGENCY and self.department_id is None:
            raise ValidationError({"department": "Choose the department that handles this type."})

    @property
    def is_emergency(self) -> bool:
        return self.urgency == Urgency.EMERGENCY

    @property
    def is_urgent(self) -> bool:
        return self.urgency == Urgency.URGENT

    @property
    def has_questions(self) -> bool:
        """Open311's `metadata`: whether the type has attributes to fetch."""
        # all(), not exists(): a type from the catalog snapshot has its questions at hand.
        return len(self.attributes.all()) > 0

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.split(",") if k.strip()]

    def example_list(self) -> list[str]:
        return [line.strip() for line in self.examples.splitlines() if line.strip()]


class Datatype(models.TextChoices):
    STRING = "string", "Short text"
    NUMBER = "number", "Number"
    DATETIME = "datetime", "Date and time"
    TEXT = "text", "Long text"
    SINGLEVALUELIST = "singlevaluelist", "Choose one"
    MULTIVALUELIST = "multivaluelist", "Choose any"


class ServiceAttribute(Translated, models.Model):
    """A question a service type asks: an Open311 attribute."""

    translatable = ("description", "datatype_description")

    service_type = models.ForeignKey(
        ServiceType, on_delete=models.CASCADE, related_name="attributes"
    )
    code = models.CharField(max_length=60, validators=[code_validator])
    description = models.CharField(max_length=300, help_text="The question, as residents read it.")
    datatype = models.CharField(max_length=20, choices=Datatype.choices, default=Datatype.STRING)
    datatype_description = models.CharField(max_length=200, blank=True)
    required = models.BooleanField(default=False)
    # Open311's `variable`: false for an informational line that takes no answer.
    variable = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=1)
    translations = GenericRelation(Translation)

    class Meta:
        ordering = ["service_type", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["service_type", "code"], name="attribute_code_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.service_type.service_code}: {self.code}"

    @property
    def has_values(self) -> bool:
        return self.datatype in (Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST)


class AttributeValue(Translated, models.Model):
    """One choice of a singlevaluelist or multivaluelist question."""

    translatable = ("name",)

    attribute = models.ForeignKey(ServiceAttribute, on_delete=models.CASCADE, related_name="values")
    key = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=1)
    translations = GenericRelation(Translation)

    class Meta:
        ordering = ["attribute", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["attribute", "key"], name="value_key_per_attribute")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.name}"


class BusinessHours(models.Model):
    """The city's working hours on one weekday. A weekday with no row is not a working day."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, unique=True)
    opens = models.TimeField(default=time(9, 0))
    closes = models.TimeField(default=time(17, 0))

    class Meta:
        ordering = ["weekday"]
        verbose_name_plural = "business hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.closes <= self.opens:
            raise ValidationError({"closes": "Closing time must be after opening time."})


class Holiday(models.Model):
    """A day the city does not work, besides the public holidays of CITY311_HOLIDAYS.

    A row with `closed=False` marks a public holiday the city works on after all.
    """

    date = models.DateField(unique=True)
    name = models.CharField(max_length=120)
    closed = models.BooleanField(default=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class TrainedClassifier(models.Model):
    """A service-suggestion model (`city311 train_classifier`), saved with skops, never pickle.

    The newest row is the one used; older rows are kept a while to compare and roll back.
    """

    trained_at = models.DateTimeField(default=timezone.now)
    data = models.BinaryField()
    # The service codes it knows, in its classes' order, and how many examples each had.
    examples = models.JSONField(default=dict)
    seconds = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-trained_at", "-pk"]

    def __str__(self) -> str:
        return f"Classifier trained {self.trained_at:%Y-%m-%d %H:%M}"
