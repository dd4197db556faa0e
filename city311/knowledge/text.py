"""Words for the search index: folded, without stopwords, stemmed in English or Spanish.

The same function turns documents and questions into terms, so "¿Cuándo recogen la basura?"
and "recolección de basura" meet on "recog"/"basur", and "collected" on "collection".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import markdown  # type: ignore[import-untyped]
import nh3
import snowballstemmer

STOPWORDS = frozenset(
    """
a an and are as at be been by can could do does did for from had has have how i i'm im in into
is it its it's me my of on or our so some that the their there they this to too was we were what
when where which who whom why will with would you your yours am get got if just about any
there's theres want need know tell please anyone ok okay hi hello
de del el la las los lo un una unos unas mi mis hay que por para con en es esta este son al se
y o a como cual cuales cuando donde quien que puedo puede tengo mi su sus le les me te nos
hola favor
""".split()
)
STEMMERS = {"en": "english", "es": "spanish"}
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lowercase without accents: "Recolección" -> "recoleccion"."""
    plain = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in plain if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words that carry meaning, folded, in order."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS and len(w) > 1]


@lru_cache(maxsize=50_000)
def stem(word: str, language: str) -> str:
    name = STEMMERS.get(language.split("-")[0])
    if name is None:
        return word
    return str(_stemmer(name).stemWord(word))


@lru_cache(maxsize=8)
def _stemmer(name: str) -> snowballstemmer.stemmer:  # type: ignore[name-defined]
    return snowballstemmer.stemmer(name)


def terms(text: str, language: str) -> list[str]:
    """A document's index terms, stemmed in its own language."""
    return [stem(w, language) for w in words(text)]


def query_terms(text: str, languages: tuple[str, ...] = ("en", "es")) -> list[set[str]]:
    """For each word of a question, its stems in every language a resident may write in."""
    return [{stem(w, language) for language in languages} | {w} for w in words(text)]


ALLOWED_TAGS = {
    "a", "p", "br", "ul", "ol", "li", "strong", "em", "h2", "h3", "h4", "blockquote", "code",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def render_markdown(text: str) -> str:
    """An article's Markdown as HTML with nothing an editor could use to run code or restyle
    the page: nh3 keeps these tags, links' href (http, https, mailto, tel) and no attribute else."""
    html = markdown.markdown(text, extensions=["tables", "sane_lists"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


def plain(markdown_text: str) -> str:
    """The words of a Markdown text, for the index and for reading out."""
    return nh3.clean(render_markdown(markdown_text), tags=set()).replace("&amp;", "&")
