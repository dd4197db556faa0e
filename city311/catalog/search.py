"""Finding the service a resident means from their own words: "there's a big hole in my street".

Each type's name, keywords, group and description become weighted words; a query's words are
matched exactly, by a plural/singular fold, or fuzzily (typos), and weighted by how rare the word is
across the catalog, so "hole" counts for more than "street".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from rapidfuzz import fuzz, process

from city311.catalog import cache, classifier
from city311.catalog.models import ServiceType

STOPWORDS = frozenset(
    """
a an and are as at be been by can could do does for from had has have i i'm im in into is it its
it's me my of off on or our please report request reporting so some someone that the their there
there's theres they this to too up very was we were what when where which who will with you your
just near next outside front behind across get got need needs want like since still again all
de del el la las los lo un una unos unas mi mis hay que por para con en es esta este son al se
""".split()
)
# Words residents add to anything ("pothole repair", "graffiti removal"): they say little about
# which service is meant, however rare they are in the catalog.
GENERIC = frozenset(
    """
repair repairs removal remove removed request inspection activity schedule problem issue
complaint fix fixed service make safe help pick pickup outage
""".split()
)
GENERIC_FACTOR = 0.25
# Names in every offered language count as names: a resident may write "bache" on the English
# page too. Keywords are the administrator's own list, in whatever languages they wrote it.
WEIGHTS = {
    "service_name": 3.0,
    "keywords": 2.5,
    "group": 0.5,
    "description": 0.5,
}
TRANSLATED = ("service_name", "group", "description")
# How much a name that reads like the whole query adds, relative to the rarest word.
NAME_BONUS = 1.5
# The blend (suggest): the model's share of a type's score, the least score shown, and when an
# answer is "sure": its first score at least SURE and AHEAD times the second (tuned on the set
# of bench/classify.py: sure answers are right 96% of the time, the others 48%).
MODEL_SHARE = 0.85
MIN_SCORE = 0.05
SURE = 0.35
AHEAD = 2.0
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lowercase words without stopwords, plurals folded: "Potholes on 5th" -> [pothole, 5th]."""
    found = []
    # Accents folded: "recolección" and "recoleccion" are one word.
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    for word in _WORD.findall(plain):
        if word in STOPWORDS or len(word) < 2:
            continue
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.append(word)
    return found


def _texts(service_type: ServiceType, languages: list[str]) -> Iterator[tuple[str, float]]:
    """Each searchable text of a type with its weight: the English, then each translation."""
    for part, weight in WEIGHTS.items():
        yield getattr(service_type, part) or "", weight
    for language in languages:
        for part in TRANSLATED:
            translated = service_type.translated(part, language)
            if translated != getattr(service_type, part):
                yield translated, WEIGHTS[part]


class CatalogIndex:
    def __init__(self, types: list[ServiceType], languages: list[str]) -> None:
        self.types = types
        self.names = [set(words(t.service_name)) for t in types]
        self.weights: list[dict[str, float]] = []
        documents: dict[str, int] = defaultdict(int)
        for service_type in types:
            bag: dict[str, float] = {}
            for text, weight in _texts(service_type, languages):
                for word in words(text):
                    bag[word] = max(bag.get(word, 0.0), weight)
            self.weights.append(bag)
            for word in bag:
                documents[word] += 1
        self.vocabulary = sorted(documents)
        self.idf = {w: math.log(1 + len(types) / n) for w, n in documents.items()}

    def _matches(self, word: str) -> list[tuple[str, float]]:
        """Catalog words this query word may mean, with how sure (1.0 exact)."""
        if word in self.idf:
            return [(word, 1.0)]
        if len(word) < 4:
            return []
        close = process.extract(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=80, limit=3)
        return [(match, score / 100) for match, score, _ in close]

    def scores(self, text: str) -> list[float]:
        """Each type's score for the words, in `types` order (all 0 when nothing matched)."""
        query = words(text)
        scores = [0.0] * len(self.types)
        if not query:
            return scores
        for word in query:
            damp = GENERIC_FACTOR if word in GENERIC else 1.0
            for match, sureness in self._matches(word):
                idf = self.idf[match] * damp
                for i, bag in enumerate(self.weights):
                    if match in bag:
                        scores[i] += bag[match] * idf * sureness
        if not any(scores):
            return scores
        # A name that says what the query says ("Graffiti" for "graffiti removal") breaks ties
        # that description words would otherwise decide.
        top_idf = max(self.idf.values())
        asked = {w for w in query if w not in GENERIC} or set(query)
        for i, name in enumerate(self.names):
            shared = len(name & asked)
            if scores[i] > 0 and shared:
                scores[i] += NAME_BONUS * top_idf * (shared / len(name)) * (shared / len(asked))
        return scores

    def suggest(self, text: str, *, limit: int) -> list[tuple[ServiceType, float]]:
        scores = self.scores(text)
        best = max(scores, default=0.0)
        if best <= 0:
            return []
        ranked = sorted(range(len(self.types)), key=lambda i: -scores[i])
        return [
            (self.types[i], round(scores[i] / best, 3))
            for i in ranked[:limit]
            if scores[i] >= best * 0.35
        ]


@dataclass
class Suggestion:
    """Service types for a resident's words, best first, with a score each (0..1)."""

    types: list[tuple[ServiceType, float]]
    # False when nothing stands out: pages then say so and offer the groups.
    sure: bool


def _index(emergencies: bool) -> CatalogIndex:
    snapshot = cache.catalog()
    languages = [code for code, _name in settings.LANGUAGES if code != "en"]

    def build() -> CatalogIndex:
        types = sorted(snapshot.active_types(emergencies=emergencies), key=lambda t: t.pk)
        return CatalogIndex(types, languages)

    return snapshot.derived(("search", emergencies, tuple(languages)), build)


def suggest(text: str, *, limit: int = 5, emergencies: bool = False) -> Suggestion:
    """The lexical matcher and the learned model (classifier.py), blended.

    Each type's score is MODEL_SHARE of the model's probability plus the rest of its lexical
    score relative to the best lexical match. A type the model does not know (added since the
    last training) has its lexical part only. Without a model, the lexical matcher answers alone.
    """
    index = _index(emergencies)
    lexical = index.scores(text)
    best = max(lexical, default=0.0)
    model = classifier.current() if text.strip() else None
    if model is None:
        found = index.suggest(text, limit=limit)
        return Suggestion(found, sure=bool(found) and (len(found) == 1 or found[1][1] < 0.8))
    probabilities = model.probabilities(text)
    blended = [
        MODEL_SHARE * probabilities.get(t.service_code, 0.0)
        + (1 - MODEL_SHARE) * (lexical[i] / best if best > 0 else 0.0)
        for i, t in enumerate(index.types)
    ]
    ranked = sorted(range(len(index.types)), key=lambda i: -blended[i])[:limit]
    found = [(index.types[i], round(blended[i], 3)) for i in ranked if blended[i] >= MIN_SCORE]
    return Suggestion(found, sure=_stands_out([score for _t, score in found]))


def _stands_out(scores: list[float]) -> bool:
    """The first is likely and well ahead of the second."""
    if not scores or scores[0] < SURE:
        return False
    return len(scores) == 1 or scores[0] >= AHEAD * scores[1]


def suggest_types(
    text: str, *, limit: int = 5, emergencies: bool = False
) -> list[tuple[ServiceType, float]]:
    """Active service types for a resident's words, best first, each with a score (0..1).

    Emergency types are left out unless asked for: the portal asks, to say "call 911".
    The index and the model are built once per snapshot of the catalog, not per query.
    """
    return suggest(text, limit=limit, emergencies=emergencies).types
