"""Operation search: BM25F over each operation's words, with stemming and GHL's vocabulary.

An operation is a document with weighted fields (its title and our description weigh
most, then its group, path words and parameter names). Words are split at camelCase,
snake_case and punctuation, stop words dropped, and the rest stemmed with Snowball's
English stemmer. A query also searches, at a lower weight, the GHL words that the
vocabulary (``scripts/ghl_vocabulary.py``, copied into the catalogue) gives for the
user's words: "text" also looks for "sms" and "message", "deal" for "opportunity".

The index is built on the first search (tens of milliseconds), not at child start.
After that a query costs a dictionary look-up per term and a sort.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

import snowballstemmer

from mcpbridge.ghl.catalogue import Operation, Vocabulary

# BM25's usual constants; field weights chosen on the evaluation set (tests/ghl/search_eval).
K1 = 1.2
B = 0.75
FIELD_WEIGHTS = {"name": 3.0, "kind": 2.0, "group": 1.2, "path": 1.0, "params": 0.3}
# Words the vocabulary adds count for less than the words the user typed.
SYNONYM_WEIGHT = 0.5
ACTION_WEIGHT = 0.5
DEMOTED_WEIGHT = 0.3
LIST_TERM = "list"
DEPRECATED_FACTOR = 0.7
# When a request fits several operations on the same thing equally well, prefer the one
# that reads over the one that changes, and changing over deleting.
METHOD_FACTOR = {"GET": 1.0, "POST": 0.97, "PUT": 0.95, "PATCH": 0.95, "DELETE": 0.9}

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


def raw_words(text: str) -> list[str]:
    """Lower-case words of ``text``, split at camelCase, snake_case and punctuation."""
    return [word for word in _WORD.findall(_CAMEL.sub(r"\1 \2", text).lower()) if len(word) > 1]


class Analyzer:
    """Words to stems, with a cache: the catalogue repeats a few thousand words."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        self._cache: dict[str, str] = {}
        self.stop_words = vocabulary.stop_words
        self.action_words = vocabulary.action_words
        # Stemmed key -> (weight of its GHL words, the GHL words' stems).
        self.phrases: dict[tuple[str, ...], tuple[float, tuple[str, ...]]] = {}
        for table, weight in ((vocabulary.synonyms, SYNONYM_WEIGHT), (vocabulary.aliases, 1.0)):
            for key, values in table.items():
                stems = tuple(stem for value in values for stem in self.stems(value))
                self.phrases[tuple(self.stem(word) for word in raw_words(key))] = (weight, stems)
        self.longest_phrase = max((len(key) for key in self.phrases), default=1)

    def stem(self, word: str) -> str:
        stem = self._cache.get(word)
        if stem is None:
            stem = self._cache[word] = self._stemmer.stemWord(word)
        return stem

    def stems(self, text: str) -> list[str]:
        return [self.stem(word) for word in raw_words(text) if word not in self.stop_words]

    def query_terms(self, text: str) -> dict[str, float]:
        """Stems to search for with their weights: typed words 1, vocabulary words less."""
        words = raw_words(text)
        stems = [self.stem(word) for word in words]
        terms = {
            stem: ACTION_WEIGHT if word in self.action_words else 1.0
            for word, stem in zip(words, stems, strict=True)
            if word not in self.stop_words
        }
        added: dict[str, float] = {}
        if any(
            word != stem and word.endswith("s") for word, stem in zip(words, stems, strict=True)
        ):
            # A plural ("show open deals") asks for a list rather than one record.
            added[LIST_TERM] = SYNONYM_WEIGHT
        start = 0
        while start < len(stems):
            size, match = self._phrase_at(stems, start)
            if match is None:
                start += 1
                continue
            weight, expansion = match
            key = stems[start : start + size]
            for stem in key:
                # The words of a phrase, or an alias the user typed, say little on their own.
                if stem in terms and (size > 1 or weight == 1.0) and stem not in expansion:
                    terms[stem] = DEMOTED_WEIGHT
            for stem in expansion:
                added[stem] = max(added.get(stem, 0.0), weight)
            start += size
        for stem, weight in added.items():
            terms[stem] = max(terms.get(stem, 0.0), weight)
        return terms

    def _phrase_at(
        self, stems: list[str], start: int
    ) -> tuple[int, tuple[float, tuple[str, ...]] | None]:
        for size in range(min(self.longest_phrase, len(stems) - start), 0, -1):
            match = self.phrases.get(tuple(stems[start : start + size]))
            if match is not None:
                return size, match
        return 1, None


def is_listing(op: Operation) -> bool:
    """Lists and searches: a GET of a collection, or a POST that searches or lists."""
    last = op.path.rstrip("/").rsplit("/", 1)[-1]
    if op.method == "GET":
        return not last.startswith("{")
    return op.method == "POST" and last in ("search", "list")


def operation_fields(op: Operation) -> dict[str, str]:
    body_props = (op.body.schema if op.body else {}).get("properties", {})
    enums = [
        str(value)
        for param in op.visible_params()
        for value in param.schema.get("enum", ())
        if isinstance(value, str)
    ]
    return {
        "name": f"{op.title} {op.description or ''}",
        "kind": LIST_TERM if is_listing(op) else "",
        "group": op.group.replace("_", " "),
        "path": re.sub(r"\{[^}]*\}", " ", op.path),
        "params": " ".join([*(p.name for p in op.visible_params()), *body_props, *enums]),
    }


class TextIndex:
    """BM25F scores of every (stem, document), computed once.

    A document is a mapping of field name (those of FIELD_WEIGHTS) to text, with a prior
    factor that scales all its scores.
    """

    def __init__(
        self, documents: Sequence[Mapping[str, str]], priors: Sequence[float], analyzer: Analyzer
    ) -> None:
        self.analyzer = analyzer
        self.postings: dict[str, list[tuple[int, float]]] = {}
        fields = [
            {name: analyzer.stems(doc.get(name, "")) for name in FIELD_WEIGHTS} for doc in documents
        ]
        count = len(fields) or 1
        average = {
            name: sum(len(doc[name]) for doc in fields) / count or 1.0 for name in FIELD_WEIGHTS
        }
        weighted: dict[str, dict[int, float]] = {}
        for index, doc in enumerate(fields):
            for name, stems in doc.items():
                norm = 1 - B + B * len(stems) / average[name]
                for stem in stems:
                    slot = weighted.setdefault(stem, {})
                    slot[index] = slot.get(index, 0.0) + FIELD_WEIGHTS[name] / norm
        for stem, per_doc in weighted.items():
            idf = math.log(1 + (count - len(per_doc) + 0.5) / (len(per_doc) + 0.5))
            self.postings[stem] = [
                (index, idf * tf * (K1 + 1) / (K1 + tf) * priors[index])
                for index, tf in per_doc.items()
            ]

    def scores(self, query: str) -> dict[int, float]:
        """Documents (by position) matching any query word, with their scores."""
        scores: dict[int, float] = {}
        for stem, weight in self.analyzer.query_terms(query).items():
            for index, value in self.postings.get(stem, ()):
                scores[index] = scores.get(index, 0.0) + weight * value
        return scores


def operation_prior(op: Operation) -> float:
    factor = METHOD_FACTOR.get(op.method, 1.0)
    return factor * DEPRECATED_FACTOR if op.deprecated else factor


class OperationIndex:
    """The catalogue's operations, searchable."""

    def __init__(self, operations: Iterable[Operation], vocabulary: Vocabulary) -> None:
        self.operations = list(operations)
        self.text = TextIndex(
            [operation_fields(op) for op in self.operations],
            [operation_prior(op) for op in self.operations],
            Analyzer(vocabulary),
        )

    @property
    def analyzer(self) -> Analyzer:
        return self.text.analyzer

    @property
    def postings(self) -> dict[str, list[tuple[int, float]]]:
        return self.text.postings

    def rank(self, query: str) -> list[tuple[float, Operation]]:
        """Operations matching any query word, best first (ties by id)."""
        scores = self.text.scores(query)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.operations[item[0]].id))
        return [(score, self.operations[index]) for index, score in ranked]
