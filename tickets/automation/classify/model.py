"""The per-tenant model: TF-IDF over the project tokenizer, logistic regression; sealed storage.

`fit` trains and measures (out-of-fold: the model alone, the model with the keyword rules
where it is unsure, and the rules alone; the model is used only when it beats the rules),
`predict` gives the label, its probability and the top words (coefficient × tf-idf for the
winning class, coefficients centred over the classes), `seal` / `unseal` store it, `load_model`
keeps one copy per process and tenant, keyed by the row's `trained_at`.

Why logistic regression (bench/classify.py, generated en + zh tickets, half new wording):
inquiry type 78.5 % (ComplementNB 76.5 %, keyword rules 73.0 %), topic 80.2 % (84.8 %, 81.5 %);
its probabilities are the better calibrated (81 % of tickets at ≥ 0.5, 87 % of those right,
against 60 % and 92 % for ComplementNB), which the confidence threshold relies on; with the
rules where it is unsure: 84.5 % and 84.8 %.

Trust boundary: `pickle.loads` runs arbitrary code, so a blob is unpickled only when its
HMAC-SHA256 (keyed by SECRET_KEY, salted) over the tenant id, the kind and the bytes checks
out: only `seal`, called by training in this package, writes that. A row altered in the
database by anyone without the secret, or copied from another tenant's row, fails the check and
is ignored (keyword rules apply until the next training). Nothing a user uploads or types is
ever unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import pickle
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

from ..models import ClassifierModel
from .base import (
    CV_FOLDS,
    LOGREG_C,
    MAX_TEXT,
    SOURCE_MODEL,
    TOP_WORDS,
    TYPE,
    Classification,
    required_confidence,
)
from .keywords import Rule, match_rules

logger = logging.getLogger(__name__)


def _given(tokens_: list[str]) -> list[str]:
    """Analyzer for text tokenized already (training tokenizes each ticket once)."""
    return tokens_


def build_pipeline(algorithm: str = "logreg") -> Any:
    """TF-IDF over the project tokenizer, then the classifier ("logreg" or "cnb")."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import ComplementNB
    from sklearn.pipeline import Pipeline

    from tickets.search import tokens

    if algorithm == "cnb":
        classifier: Any = ComplementNB(alpha=0.3)
    else:
        classifier = LogisticRegression(C=LOGREG_C, class_weight="balanced", max_iter=2000)
    vectorizer = TfidfVectorizer(analyzer=tokens, sublinear_tf=True, max_features=50_000)
    return Pipeline([("tfidf", vectorizer), ("clf", classifier)])


@dataclass
class Fitted:
    pipeline: Any
    labels: list[str]
    samples: int
    accuracy: float | None = None  # as used: the model, keyword rules where it is unsure
    model_accuracy: float | None = None  # the model alone
    rules_accuracy: float | None = None  # the keyword rules alone, on the same labels
    use: bool = True  # better than the keyword rules alone: classify with it

    def header(self) -> dict[str, Any]:
        import sklearn

        return {
            "sklearn": sklearn.__version__,
            "accuracy": self.accuracy,
            "model_accuracy": self.model_accuracy,
            "rules_accuracy": self.rules_accuracy,
            "use": self.use,
        }


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    kind: str = TYPE,
    rules: Sequence[Rule] | None = None,
    default: str = "",
    algorithm: str = "logreg",
) -> Fitted:
    """Train on `texts`. Out-of-fold predictions (stratified, up to CV_FOLDS folds) measure the
    model alone, the model with `rules` where it is below APPLY_CONFIDENCE (as `classify` runs
    it; below `required_confidence`), and the rules alone (`default` when none matches); the
    model is worth using only when
    it beats the rules alone."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from tickets.search import tokens

    tokenized = [tokens(text[:MAX_TEXT]) for text in texts]
    y = np.array(labels)
    fitted = Fitted(None, [], len(texts))
    folds = min(CV_FOLDS, min(Counter(labels).values()))
    if folds >= 2:
        pipeline = build_pipeline(algorithm).set_params(tfidf__analyzer=_given)
        split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        proba = cross_val_predict(pipeline, tokenized, y, cv=split, method="predict_proba")
        guess = np.unique(y)[proba.argmax(axis=1)]
        fitted.model_accuracy = fitted.accuracy = float((guess == y).mean())
        if rules is not None:
            found = np.array([match_rules(t, rules, kind).label for t in texts], dtype=object)
            by_rules = np.where(found == "", default, found)
            required = required_confidence(proba.shape[1])
            unsure = (proba.max(axis=1) < required) & (found != "")
            fitted.accuracy = float((np.where(unsure, found, guess) == y).mean())
            fitted.rules_accuracy = float((by_rules == y).mean())
            fitted.use = fitted.accuracy > fitted.rules_accuracy
    pipeline = build_pipeline(algorithm).set_params(tfidf__analyzer=_given).fit(tokenized, y)
    fitted.pipeline = pipeline.set_params(tfidf__analyzer=tokens)  # from now on: raw text
    fitted.labels = [str(c) for c in pipeline.named_steps["clf"].classes_]
    return fitted


@dataclass
class Loaded:
    """A model ready to predict, with what the top words need."""

    trained_at: datetime | None
    pipeline: Any
    names: Any  # feature index -> token
    weights: Any  # classes x features, centred over the classes
    stale: bool = False  # pickled by another scikit-learn version: retrain before use
    use: bool = True  # it beat the keyword rules when it was trained


def _loaded(pipeline: Any, trained_at: datetime | None, **flags: bool) -> Loaded:
    import numpy as np

    vectorizer, classifier = pipeline.named_steps["tfidf"], pipeline.named_steps["clf"]
    if hasattr(classifier, "coef_"):
        weights = np.asarray(classifier.coef_, dtype=float)
        if weights.shape[0] == 1:  # two classes: one row, for the second class
            weights = np.vstack([-weights[0], weights[0]]) / 2
    else:
        weights = np.asarray(classifier.feature_log_prob_, dtype=float)
    weights = weights - weights.mean(axis=0)
    names = vectorizer.get_feature_names_out()
    return Loaded(trained_at, pipeline, names, weights, **flags)


def predict(model: Loaded, text: str, kind: str) -> Classification:
    import numpy as np

    vectorizer, classifier = model.pipeline.named_steps["tfidf"], model.pipeline.named_steps["clf"]
    x = vectorizer.transform([text[:MAX_TEXT]]).tocsr()
    proba = classifier.predict_proba(x)[0]
    best = int(np.argmax(proba))
    pushes = x.data * model.weights[best, x.indices]
    order = np.argsort(-pushes)[:TOP_WORDS]
    words = tuple(str(model.names[x.indices[i]]) for i in order if pushes[i] > 0)
    sure = bool(proba[best] >= required_confidence(len(proba)))
    return Classification(kind, str(classifier.classes_[best]), float(proba[best]), SOURCE_MODEL,
                          words, sure)  # fmt: skip


# A sealed model: MAGIC, an HMAC-SHA256 over (tenant id, kind, header and payload), the header's
# length (2 bytes), the header (JSON: versions and accuracies, readable without unpickling),
# then the pickled pipeline.
MAGIC = b"HDC2"
_SALT = "tickets.automation.classify.model"
_MAC_SIZE = 32
HEAD_BYTES = 1024  # enough to read the header from the start of a blob


def _mac(tenant_id: int, kind: str, body: bytes, secret: str) -> bytes:
    message = f"{tenant_id}:{kind}:".encode() + hashlib.sha256(body).digest()
    return salted_hmac(_SALT, message, secret=secret, algorithm="sha256").digest()


def seal(tenant_id: int, kind: str, fitted: Fitted) -> bytes:
    header = json.dumps(fitted.header()).encode()
    payload = pickle.dumps(fitted.pipeline, protocol=pickle.HIGHEST_PROTOCOL)
    body = len(header).to_bytes(2, "big") + header + payload
    return MAGIC + _mac(tenant_id, kind, body, settings.SECRET_KEY) + body


def peek(head: bytes | memoryview | None) -> dict[str, Any]:
    """The header of a sealed blob (or of its first HEAD_BYTES), unverified: for display only."""
    head = bytes(head or b"")
    start = len(MAGIC) + _MAC_SIZE
    if not head.startswith(MAGIC) or len(head) < start + 2:
        return {}
    size = int.from_bytes(head[start : start + 2], "big")
    try:
        return json.loads(head[start + 2 : start + 2 + size])
    except ValueError:
        return {}


def unseal(tenant_id: int, kind: str, blob: bytes | memoryview) -> tuple[dict, Any] | None:
    """(header, pipeline) as `seal` wrote them for this tenant and kind; None for anything else,
    which is never unpickled: a wrong MAC means the bytes are not ours, or not this tenant's."""
    blob = bytes(blob)
    start = len(MAGIC) + _MAC_SIZE
    if not blob.startswith(MAGIC) or len(blob) < start + 2:
        return None
    mac, body = blob[len(MAGIC) : start], blob[start:]
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        if hmac.compare_digest(mac, _mac(tenant_id, kind, body, secret)):
            size = int.from_bytes(body[:2], "big")
            header = json.loads(body[2 : 2 + size])
            return header, pickle.loads(body[2 + size :])  # noqa: S301 - authenticated above
    return None


_models: dict[tuple[int, str], Loaded] = {}
_models_lock = threading.Lock()


def _model_rows(kinds: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    rows = ClassifierModel.objects.filter(kind__in=tuple(kinds))
    return {kind: (pk, at) for kind, pk, at in rows.values_list("kind", "pk", "trained_at")}


def load_model(tenant_id: int, kind: str, pk: int, trained_at: datetime) -> Loaded | None:
    """The model of row `pk`, from this process's cache when it was trained at `trained_at`."""
    key = (tenant_id, kind)
    cached = _models.get(key)
    if cached is not None and cached.trained_at == trained_at:
        return cached
    blob = ClassifierModel.objects.filter(pk=pk).values_list("blob", flat=True).first()
    loaded = None
    try:
        sealed = unseal(tenant_id, kind, blob) if blob is not None else None
        if sealed is None:
            logger.warning("classifier %s of tenant %s failed its check: ignored", kind, tenant_id)
        else:
            import sklearn

            header, pipeline = sealed
            loaded = _loaded(pipeline, trained_at, use=bool(header.get("use", True)),
                             stale=header.get("sklearn") != sklearn.__version__)  # fmt: skip
    except Exception:  # noqa: BLE001 - a model that will not load means rules, not a failed job
        logger.exception("classifier %s of tenant %s could not be loaded", kind, tenant_id)
    if loaded is not None:
        with _models_lock:
            _models[key] = loaded
    return loaded


def forget_models() -> None:
    """Drop this process's cached models (tests)."""
    with _models_lock:
        _models.clear()
