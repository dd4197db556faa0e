"""The knowledge base as city pack data: the demo city's articles come in, are checked with
file and line, go out with export_city and come back the same; and they answer residents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from city311.cities.pack.reader import read_pack
from city311.demo import loader
from city311.knowledge.index import search
from city311.knowledge.models import Article, ArticleRevision, Audience
from city311.test import use_city

QUESTIONS = Path(__file__).parent / "data" / "knowledge_questions.txt"


def questions() -> list[tuple[str, str]]:
    rows = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            slug, question = (part.strip() for part in line.split("|", 1))
            rows.append((slug, question))
    return rows


@pytest.fixture
def demo(db):
    use_city("nyc")
    loader.load_knowledge()


def test_the_demo_city_ships_a_hundred_answers_in_english_and_spanish(demo):
    public = Article.objects.public()
    assert public.count() >= 100
    for article in public.prefetch_related("translations"):
        assert article.translated("title", "es") != article.title, article.slug
        assert article.translated("summary", "es") != article.summary, article.slug
    assert Article.objects.published().filter(audience=Audience.STAFF).exists()
    assert Article.objects.filter(status="draft").exists()
    assert Article.objects.stale().exists()
    assert ArticleRevision.objects.count() == Article.objects.count()


def test_the_right_answer_is_in_the_top_3_for_nine_questions_in_ten(demo):
    asked = questions()
    assert len(asked) == 200
    found = 0
    for slug, question in asked:
        hits = search(question, kinds=["article"], limit=3, count_miss=False)
        found += slug in [h.key for h in hits]
    assert found / len(asked) >= 0.9, f"{found}/{len(asked)}"


def test_every_question_names_an_article_that_exists(demo):
    slugs = set(Article.objects.values_list("slug", flat=True))
    assert {slug for slug, _ in questions()} <= slugs


def test_export_then_import_gives_the_same_articles(demo, tmp_path):
    from django.core.management import call_command

    call_command("export_city", str(tmp_path / "a"), verbosity=0)
    exported = yaml.safe_load((tmp_path / "a" / "knowledge.yaml").read_text())
    assert len(exported["articles"]) == Article.objects.count()
    Article.objects.all().delete()
    call_command("import_city", str(tmp_path / "a"), verbosity=0)
    call_command("export_city", str(tmp_path / "b"), verbosity=0)
    a = (tmp_path / "a" / "knowledge.yaml").read_text()
    assert a == (tmp_path / "b" / "knowledge.yaml").read_text()
    assert search("is the pool open")[0].key == "public-pools"


def test_a_wrong_article_is_named_with_its_file_and_line(db, tmp_path):
    use_city("nyc")
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "city.yaml").write_text((loader.pack_folder() / "city.yaml").read_text())
    (folder / "knowledge.yaml").write_text(
        "articles:\n"
        "- slug: one\n"
        "  title: One\n"
        "  summary: S\n"
        "  body: B\n"
        "  service_types: [no_such_type]\n"
        "  related: [missing]\n"
        "  audience: everyone\n"
        "- slug: two\n"
        "  title: Two\n"
    )
    problems = [str(p) for p in read_pack(folder).problems.found]
    assert "knowledge.yaml, line 2: one: no service type 'no_such_type'." in problems
    assert "knowledge.yaml, line 2: one: no related article 'missing'." in problems
    assert "knowledge.yaml, line 2: one: audience must be public or staff." in problems
    assert "knowledge.yaml, line 9: the article 'two' has no summary." in problems
