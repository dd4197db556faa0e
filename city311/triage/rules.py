"""Is this an emergency? Read before anything else a resident or caller writes.

Every free text (the portal's search and description, the console's, an Open311 description)
is read here before any service is suggested. The words are the city's data, not code: one
YAML file a language in `city311/triage/words/` (`docs/triage.md` explains the format). Every
text is read with every language's words, because people mix them ("my mom no respira"), so
a language added later without its own list still keeps the English and Spanish ones.

A text is an emergency when one of the `signals` patterns matches after

- the text is lowercased, accents folded, punctuation dropped and shorthand rewritten
  ("rn" -> "right now", "sum1" -> "someone");
- a long word one letter off a signal word is read as that word ("breathng", "unconcious"),
  unless the list keeps it ("shouting" is not "shooting");
- `ordinary` phrases that share words with an emergency are masked ("fire hydrant", "smoke
  detector", "boca de incendios", "no one was hurt");
- and a `past` cue ("last week", "ayer") with no `now` cue ("right now", "still", "ahora")
  turns it back into an ordinary report, unless the pattern is marked as always urgent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

WORDS_DIR = Path(__file__).parent / "words"
# Languages whose lists every text is read with, whatever else the city offers.
BASE_LANGUAGES = ("en", "es")
SELF_HARM = "self_harm"
# Tokens shorter than this are never corrected: too many real words are one letter apart.
# A correction keeps the first letter and the length give or take one, and is at most about
# one letter off in eight: "parking" never becomes "sparking", nor "lighting" "fighting", nor
# "shouting" "shooting", nor "lastimar" (to hurt) "lastimarse" (to hurt oneself).
FUZZY_MIN_LENGTH = 7
FUZZY_CUTOFF = 88
MAX_TEXT = 4000
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Triage:
    """What reading a text found: whether to say "call 911 now", and why (no text kept)."""

    emergency: bool
    kinds: tuple[str, ...] = ()

    @property
    def self_harm(self) -> bool:
        return SELF_HARM in self.kinds


NOT_AN_EMERGENCY = Triage(False)


def plain(text: str) -> str:
    """Lowercase words, accents folded, separated by single spaces: "¡Está SANGRANDO!" ->
    "esta sangrando"."""
    folded = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    # "can't" and "someone's" stay one word each, as people type them without the apostrophe.
    folded = folded.replace("'", "")
    return " ".join(_TOKEN.findall(folded))


# A pattern's first required word, as the words it may be and whether each is a prefix
# ("stab*"): a text without any of them cannot match, so the pattern is not tried. None: the
# pattern has no required word of its own (only classes and optional words).
Anchor = tuple[tuple[str, bool], ...] | None


@dataclass
class _Pattern:
    kind: str
    regex: re.Pattern[str]
    always: bool  # urgent whatever tense the text is in ("not breathing")
    anchor: Anchor = None


def _anchor(text: str) -> Anchor:
    for token in text.split():
        if token.startswith(("{", "..")) or token.endswith("?"):
            continue
        return tuple(
            (plain(option.rstrip("*")).replace(" ", ""), option.endswith("*"))
            for option in token.split("|")
        )
    return None


# A long text is read in overlapping windows of words: an emergency is said in a few words,
# and a pattern tried on 40 words rather than 700 keeps a long description to milliseconds.
WINDOW, STEP = 40, 25


def _windows(line: str) -> list[str]:
    words = line.split()
    if len(words) <= WINDOW:
        return [line]
    return [f" {' '.join(words[i : i + WINDOW])} " for i in range(0, len(words) - STEP, STEP)]


class _AnchorIndex:
    """The patterns a text may match, found from the text's words: each word (and each of its
    beginnings, for "stab*" anchors) looks up the patterns it anchors, rather than every one of
    the lists' hundreds of patterns checking its anchor against the text (a third of a POST's
    own CPU before)."""

    def __init__(self, anchors: list[Anchor]) -> None:
        self.unanchored = [i for i, anchor in enumerate(anchors) if anchor is None]
        self.by_word: dict[str, list[int]] = {}
        self.by_start: dict[str, list[int]] = {}
        for i, anchor in enumerate(anchors):
            for word, prefix in anchor or ():
                (self.by_start if prefix else self.by_word).setdefault(word, []).append(i)

    def candidates(self, words: set[str]) -> list[int]:
        """Indexes of the patterns whose anchor the words meet, in the lists' order."""
        found = set(self.unanchored)
        for word in words:
            found.update(self.by_word.get(word, ()))
            for n in range(1, len(word) + 1):
                found.update(self.by_start.get(word[:n], ()))
        return sorted(found)


@dataclass
class Rules:
    """The compiled word lists of some languages."""

    languages: tuple[str, ...]
    rewrite: dict[str, str] = field(default_factory=dict)
    keep: set[str] = field(default_factory=set)
    # The signals' long words, by first letter: what a misspelt word may be read as.
    vocabulary: dict[str, list[str]] = field(default_factory=dict)
    ordinary: list[tuple[re.Pattern[str], Anchor]] = field(default_factory=list)
    past: list[re.Pattern[str]] = field(default_factory=list)
    now: list[re.Pattern[str]] = field(default_factory=list)
    signals: list[_Pattern] = field(default_factory=list)

    def read(self, text: str) -> Triage:
        words = self._words(text[:MAX_TEXT])
        if not words:
            return NOT_AN_EMERGENCY
        line = f" {' '.join(words)} "
        present = set(words)
        for i in self._ordinary_index.candidates(present):
            line = self.ordinary[i][0].sub("_ ", line)
        kinds: list[str] = []
        past = any(p.search(line) for p in self.past)
        now = past and any(p.search(line) for p in self.now)
        windows = _windows(line)
        for i in self._signal_index.candidates(present):
            signal = self.signals[i]
            if signal.kind in kinds:
                continue
            if not any(signal.regex.search(window) for window in windows):
                continue
            if past and not now and not signal.always:
                continue
            kinds.append(signal.kind)
        return Triage(bool(kinds), tuple(kinds)) if kinds else NOT_AN_EMERGENCY

    @cached_property
    def _ordinary_index(self) -> _AnchorIndex:
        return _AnchorIndex([anchor for _, anchor in self.ordinary])

    @cached_property
    def _signal_index(self) -> _AnchorIndex:
        return _AnchorIndex([signal.anchor for signal in self.signals])

    def _words(self, text: str) -> list[str]:
        words: list[str] = []
        for token in plain(text).split():
            token = self.rewrite.get(token, token)
            if len(token) >= FUZZY_MIN_LENGTH and token not in self.keep and token.isalpha():
                token = self._nearest(token)
            words.extend(token.split())
        return words

    def _nearest(self, token: str) -> str:
        choices = [w for w in self.vocabulary.get(token[0], []) if abs(len(w) - len(token)) <= 1]
        found = process.extractOne(token, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return found[0] if found else token


def _load(language: str) -> dict[str, Any]:
    path = WORDS_DIR / f"{language}.yaml"
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def languages_with_lists() -> list[str]:
    return sorted(p.stem for p in WORDS_DIR.glob("*.yaml"))


def _phrase(text: str, classes: dict[str, str]) -> str:
    """A pattern of the word lists as a regular expression over a plain text.

    Words are separated by spaces; `a|b` is either word; `word*` any word starting so;
    `word?` an optional word; `..` up to three words of anything, `...` up to six; `{class}`
    any phrase of a class (`person`, `now`, ...).
    """
    parts = []
    for token in text.split():
        if token in ("..", "..."):
            parts.append(r"(?:\S+ ){0,3}" if token == ".." else r"(?:\S+ ){0,6}")
            continue
        optional = token.endswith("?")
        token = token.rstrip("?")
        if token.startswith("{") and token.endswith("}"):
            # Each of the class's phrases ends with its own space.
            body = classes[token[1:-1]]
            parts.append(f"{body}?" if optional else body)
            continue
        options = []
        for option in token.split("|"):
            word = re.escape(plain(option.rstrip("*")).replace(" ", ""))
            options.append(word + r"\S*" if option.endswith("*") else word)
        body = "(?:" + "|".join(options) + ")"
        parts.append(f"(?:{body} )?" if optional else f"{body} ")
    return "(?<= )" + "".join(parts)


def compile_rules(languages: tuple[str, ...]) -> Rules:
    rules = Rules(languages)
    lists = [_load(language) for language in languages]
    raw_classes: dict[str, list[str]] = {}
    for data in lists:
        for name, phrases in (data.get("classes") or {}).items():
            raw_classes.setdefault(name, []).extend(str(p) for p in phrases)
    classes: dict[str, str] = {}
    for name, phrases in raw_classes.items():
        # A class may not name another class: one level keeps the lists readable.
        alternatives = sorted({_phrase(p, {})[len("(?<= )") :] for p in phrases}, key=len)
        classes[name] = "(?:" + "|".join(reversed(alternatives)) + ")"
    # The tense cues are classes too, so patterns may name them ("{now}").
    rules.past = [re.compile("(?<= )" + classes["past"])] if "past" in classes else []
    rules.now = [re.compile("(?<= )" + classes["now"])] if "now" in classes else []
    vocabulary: set[str] = set()
    for data in lists:
        for short, long in (data.get("rewrite") or {}).items():
            rules.rewrite[plain(str(short))] = plain(str(long))
        rules.keep.update(plain(str(w)) for w in data.get("keep") or [])
        rules.ordinary += [
            (re.compile(_phrase(str(p), classes)), _anchor(str(p)))
            for p in data.get("ordinary") or []
        ]
        for kind, entries in (data.get("signals") or {}).items():
            for entry in entries or []:
                if isinstance(entry, dict):
                    text, always = entry["words"], bool(entry.get("always"))
                else:
                    text, always = entry, False
                regex = re.compile(_phrase(str(text), classes))
                rules.signals.append(_Pattern(kind, regex, always, _anchor(str(text))))
                vocabulary.update(
                    w
                    for w in re.split(r"[\s|]+", str(text))
                    if w.isalpha() and len(w) >= FUZZY_MIN_LENGTH
                )
    for word in sorted({plain(w) for w in vocabulary}):
        rules.vocabulary.setdefault(word[0], []).append(word)
        rules.keep.add(word)
    return rules


@cache
def rules_for(languages: tuple[str, ...]) -> Rules:
    return compile_rules(languages)


def read(text: str, language: str = "") -> Triage:
    """Whether `text` is an emergency, read with the English and Spanish lists and, when the
    city has one, the list of the text's own language."""
    return rules_for(languages_for(language)).read(text or "")


def languages_for(language: str) -> tuple[str, ...]:
    """The lists a text in `language` is read with: English, Spanish and its own, if any."""
    available = set(languages_with_lists())
    wanted = {*BASE_LANGUAGES, language.split("-")[0]} if language else set(BASE_LANGUAGES)
    return tuple(sorted(wanted & available))
