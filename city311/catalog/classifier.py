"""The learned half of the service suggestion: residents' words -> service type probabilities.

A scikit-learn pipeline (TF-IDF of words and of character n-grams, so "potholes", "pot hole"
and "pothol" look alike, into a logistic regression, whose probabilities are calibrated by its
log-loss) trained on what the city knows:

- the catalog: each type's names in every language, its keywords and the example phrases the
  administrator keeps (`ServiceType.examples`; the demo's come from its pack's phrases.yaml);
- the city's own history: every request's description with the type it ended under, a
  re-classified one (staff changed its type) counting three times.

`city311 train_classifier` trains and stores a model (also run on a schedule: ops/schedules.py).
It is stored with skops, never pickle, and loaded only with the types listed in `TRUSTED`.
The lexical matcher (search.py) stays: types the model does not know yet (no examples), and a
city with no model at all, are found by it alone.
"""

from __future__ import annotations

import logging
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.db import transaction

from city311.catalog import cache
from city311.catalog.models import ServiceType, TrainedClassifier

# scikit-learn, SciPy and skops are imported where a model is trained or loaded: importing
# them took seconds of CPU in every web process's first request (the URLs import the
# suggestion), before any model exists to use them.
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
# How many of the newest described requests a training run reads.
HISTORY_LIMIT = 200_000
# A staff correction says more than a resident's own choice.
RECLASSIFIED_WEIGHT = 3.0
# Each catalog text (name, keyword, phrase) counts this much; a name counts double.
CATALOG_WEIGHT = 1.0
# Trained models kept (the newest is used).
KEEP = 3
# The only types a stored model may contain: skops refuses to build anything else.
TRUSTED = [
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    "collections.defaultdict",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
]


def build_pipeline() -> Pipeline:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    return Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        (
                            "words",
                            TfidfVectorizer(
                                strip_accents="unicode",
                                ngram_range=(1, 2),
                                sublinear_tf=True,
                                max_features=10_000,
                            ),
                        ),
                        (
                            "chars",
                            TfidfVectorizer(
                                analyzer="char_wb",
                                strip_accents="unicode",
                                ngram_range=(2, 5),
                                sublinear_tf=True,
                                min_df=2,
                                max_features=20_000,
                            ),
                        ),
                    ]
                ),
            ),
            ("model", LogisticRegression(C=10.0, max_iter=1000)),
        ]
    )


@dataclass
class Examples:
    texts: list[str]
    codes: list[str]
    weights: list[float]

    def add(self, text: str, code: str, weight: float) -> None:
        text = " ".join(text.split())
        if text:
            self.texts.append(text)
            self.codes.append(code)
            self.weights.append(weight)


def _catalog_texts(service_type: ServiceType) -> Iterator[tuple[str, float]]:
    languages = [code for code, _name in settings.LANGUAGES if code != "en"]
    yield service_type.service_name, 2 * CATALOG_WEIGHT
    for language in languages:
        name = service_type.translated("service_name", language)
        if name != service_type.service_name:
            yield name, 2 * CATALOG_WEIGHT
    for keyword in service_type.keyword_list():
        yield keyword, CATALOG_WEIGHT
    for phrase in service_type.example_list():
        yield phrase, CATALOG_WEIGHT


def training_examples() -> Examples:
    """What the model learns from: the active catalog's texts and the city's described history."""
    # Imported here: the catalog app must not need the requests app to load.
    from city311.servicerequests.models import RequestEvent, ServiceRequest
    from city311.servicerequests.vocabulary import Event

    examples = Examples([], [], [])
    types = cache.catalog().active_types(emergencies=True)
    known = {t.pk: t.service_code for t in types}
    for service_type in types:
        for text, weight in _catalog_texts(service_type):
            examples.add(text, service_type.service_code, weight)
    corrected = set(
        RequestEvent.objects.filter(kind=Event.RECLASSIFIED).values_list("request_id", flat=True)
    )
    history = (
        ServiceRequest.objects.exclude(description="")
        .filter(service_type_id__in=list(known))
        .order_by("-pk")
        .values_list("pk", "description", "service_type_id")[:HISTORY_LIMIT]
    )
    # The same words filed many times (imported "type - descriptor" strings) count once each,
    # so they do not drown what residents wrote.
    seen: Counter[tuple[str, str]] = Counter()
    for pk, description, type_id in history.iterator(chunk_size=5000):
        code = known[type_id]
        key = (" ".join(description.lower().split())[:500], code)
        seen[key] += 1
        if pk in corrected:
            examples.add(key[0], code, RECLASSIFIED_WEIGHT)
        elif seen[key] == 1:
            examples.add(key[0], code, 1.0)
    return examples


def train() -> TrainedClassifier:
    """Train on today's catalog and history and store the model; it is used at once."""
    started = time.monotonic()
    examples = training_examples()
    counts = Counter(examples.codes)
    if len(counts) < 2:
        raise ValueError(
            "Too little to learn from: the catalog needs at least two active service types "
            "with names, keywords or example phrases."
        )
    pipeline = build_pipeline()
    pipeline.fit(examples.texts, examples.codes, model__sample_weight=np.array(examples.weights))
    for _name, vectorizer in pipeline.named_steps["features"].transformer_list:
        # Every n-gram left out, kept "for introspection" only: most of the file otherwise.
        vectorizer.stop_words_ = None
        # Plain ints, not NumPy's: skops stores each NumPy scalar as a file of its own in the
        # archive and looks through the archive's names for each, so 30,000 of them took
        # 24 s to save (half a daily retraining's time limit on a busy machine), 1.7 s now.
        vectorizer.vocabulary_ = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
    import skops.io as sio

    data = sio.dumps(pipeline, compression=zipfile.ZIP_DEFLATED)
    with transaction.atomic():
        trained = TrainedClassifier.objects.create(
            data=data, examples=dict(sorted(counts.items())), seconds=time.monotonic() - started
        )
        old = TrainedClassifier.objects.values_list("pk", flat=True)[KEEP:]
        TrainedClassifier.objects.filter(pk__in=list(old)).delete()
        # Every process's snapshot (and the model it holds) is retired.
        cache.bump()
    return trained


def retrain() -> str:
    """The scheduled retraining (ops/schedules.py); quiet when there is nothing to learn."""
    try:
        trained = train()
    except ValueError as e:
        return str(e)
    return f"trained on {sum(trained.examples.values())} examples in {trained.seconds:.1f} s"


class Model:
    """A loaded model: probabilities per service code for a text."""

    def __init__(self, pipeline: Pipeline) -> None:
        # Each of the union's vectorizers, applied here by hand (`_features`): scikit-learn's
        # transform checks its input and builds sparse matrices on every call, 2 of the 2.5 ms
        # of CPU an answer took (bench/classify.py), for a few dozen n-grams of one text.
        self.vectorizers = [v for _n, v in pipeline.named_steps["features"].transformer_list]
        self.parts = []
        offset = 0
        for v in self.vectorizers:
            if not (v.sublinear_tf and v.use_idf and v.norm == "l2" and not v.binary):
                raise ValueError(
                    f"The stored model's features are not as city311 makes them: {v!r}"
                )
            self.parts.append((v.build_analyzer(), v.vocabulary_, v.idf_, offset))
            offset += len(v.idf_)
        model = pipeline.named_steps["model"]
        self.codes: list[str] = [str(c) for c in model.classes_]
        # The multinomial model's softmax, with its weights laid out by feature: one text's
        # score is the sum of its features' rows (scikit-learn's own predict_proba copies the
        # whole transposed matrix on every call, about 15 ms here).
        self.weights = np.ascontiguousarray(model.coef_.T)
        self.intercept = model.intercept_

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's TF-IDF row as (columns, values), as the pipeline's vectorizers make it:
        each part's n-gram counts, 1 + log, times the idf, to unit length; parts side by side."""
        columns, values = [], []
        for analyze, vocabulary, idf, offset in self.parts:
            counts = Counter(i for i in map(vocabulary.get, analyze(text)) if i is not None)
            if not counts:
                continue
            at = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=float, count=len(counts))
            weighted = (np.log(tf) + 1.0) * idf[at]
            columns.append(at + offset)
            values.append(weighted / np.sqrt(weighted @ weighted))
        if not columns:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        return np.concatenate(columns), np.concatenate(values)

    def probabilities(self, text: str) -> dict[str, float]:
        columns, values = self._features(text)
        scores = values @ self.weights[columns] + self.intercept
        exp = np.exp(scores - scores.max())
        shares = exp / exp.sum()
        return {code: float(p) for code, p in zip(self.codes, shares, strict=True)}


def load(data: bytes) -> Model:
    """A stored model, built from the trusted types only (skops refuses any other)."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in TRUSTED]
    if untrusted:
        raise ValueError(f"The stored model holds types city311 does not trust: {untrusted}")
    pipeline = sio.loads(data, trusted=TRUSTED)
    if not (
        isinstance(pipeline, Pipeline)
        and isinstance(pipeline.named_steps.get("features"), FeatureUnion)
        and isinstance(pipeline.named_steps.get("model"), LogisticRegression)
    ):
        raise ValueError(f"The stored model is not a service suggestion model: {pipeline!r}")
    return Model(pipeline)


def current() -> Model | None:
    """The newest stored model, loaded once per catalog snapshot; None before any training."""

    def read() -> Model | None:
        data = TrainedClassifier.objects.values_list("data", flat=True).first()
        if data is None:
            return None
        try:
            return load(bytes(data))
        except ValueError:
            # The lexical matcher answers alone until a good model is trained.
            log.exception("The stored service suggestion model was refused")
            return None

    return cache.catalog().derived("classifier", read)
