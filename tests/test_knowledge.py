"""The knowledge base through its pages and API: Ada edits answers, Rosa finds them on the help
pages, the home search and the report flow, Omar reads them out in the console."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.management import call_command

from city311.catalog.actions import set_translations
from city311.knowledge.actions import save_article
from city311.knowledge.models import Article, ArticleRevision, SearchMiss
from city311.portal import drafts
from city311.test import BaseTestCase, city_today


class KnowledgeTestCase(BaseTestCase):
    def article(self, slug: str = "pothole-repair", **fields) -> Article:
        values = {
            "title": "How do I get a pothole fixed?",
            "summary": "Report it with the location; crews fill most within a few days.",
            "body": "Give the **address** and the lane.",
            "keywords": "hole in the road",
            "next_steps": "An inspector looks at it within two days.",
            "status": "published",
            "department": self.streets,
            "review_by": date(2099, 1, 1),
        }
        values.update(fields)
        translations = values.pop("translations", {"es": {"title": "¿Cómo arreglan un bache?"}})
        codes = values.pop("service_codes", ["pothole"])
        return save_article(
            Article(slug=slug, **values), translations=translations, service_codes=codes, by=None
        )

    def pool(self, **fields) -> Article:
        values = {
            "title": "When are the public pools open?",
            "summary": "Outdoor pools open daily from late June, 11 AM to 7 PM.",
            "body": "Indoor pools are open all year.",
            "keywords": "swimming",
            "department": self.parks,
            "translations": {
                "es": {
                    "title": "¿Cuándo abren las piscinas públicas?",
                    "summary": "Las piscinas al aire libre abren todos los días.",
                    "body": "Las piscinas cubiertas abren todo el año.",
                }
            },
            "service_codes": [],
        }
        values.update(fields)
        return self.article("public-pools", **values)


class HelpPagesTests(KnowledgeTestCase):
    def test_rosa_finds_an_answer_on_the_help_page(self):
        self.pool()
        r = self.client.get("/help/", {"q": "is the pool open?"})
        self.assertContains(r, "When are the public pools open?")
        self.assertContains(r, "/help/public-pools/")

    def test_a_typing_error_still_finds_the_answer(self):
        self.pool()
        r = self.client.get("/help/", {"q": "swiming pol hours"})
        self.assertContains(r, "/help/public-pools/")

    def test_rosa_asks_in_spanish_and_reads_the_spanish_answer(self):
        self.pool()
        r = self.client.get("/help/", {"q": "¿está abierta la piscina?"}, HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(r, "¿Cuándo abren las piscinas públicas?")
        page = self.client.get("/help/public-pools/", HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(page, "Las piscinas cubiertas abren todo el año.")

    def test_the_help_page_lists_topics_by_owner(self):
        self.pool()
        r = self.client.get("/help/")
        self.assertContains(r, "Parks")
        self.assertContains(r, "When are the public pools open?")

    def test_an_article_page_shows_its_body_as_safe_html(self):
        self.article(body="Call **now**.\n\n<script>alert(1)</script> [x](javascript:alert(1))")
        r = self.client.get("/help/pothole-repair/")
        self.assertContains(r, "<strong>now</strong>", html=False)
        self.assertNotContains(r, "<script>alert(1)")
        self.assertNotContains(r, "javascript:")

    def test_a_draft_is_not_public(self):
        self.article(status="draft")
        self.assertEqual(self.client.get("/help/pothole-repair/").status_code, 404)
        r = self.client.get("/help/", {"q": "pothole fixed"})
        self.assertNotContains(r, "/help/pothole-repair/")

    def test_a_staff_only_answer_is_found_by_staff_and_never_by_rosa(self):
        self.article("call-script", title="Call script: pothole callers", audience="staff")
        self.assertEqual(self.client.get("/help/call-script/").status_code, 404)
        self.assertNotContains(self.client.get("/help/", {"q": "call script"}), "Call script")
        self.sign_in(self.omar)
        self.assertContains(self.client.get("/help/call-script/"), "Staff only")

    def test_a_search_that_finds_nothing_is_counted_without_numbers_or_addresses(self):
        self.client.get("/help/", {"q": "zebra crossing 718-555-0199 rosa@example.org"})
        self.client.get("/help/", {"q": "Zebra crossing"})
        miss = SearchMiss.objects.get()
        self.assertEqual((miss.words, miss.count), ("zebra crossing", 2))

    def test_the_gap_report_shows_missed_searches_to_supervisors_not_call_takers(self):
        self.client.get("/help/", {"q": "zebra crossing"})
        self.sign_in(self.sofia)
        self.assertContains(self.client.get("/console/answers/gaps/"), "zebra crossing")
        self.sign_in(self.omar)
        self.assertEqual(self.client.get("/console/answers/gaps/").status_code, 403)

    def test_the_one_search_finds_service_types_too(self):
        r = self.client.get("/help/", {"q": "building permit"})
        self.assertContains(r, "/report/permit_question/")


class ReportFlowTests(KnowledgeTestCase):
    def test_the_home_search_answers_a_question_beside_the_services(self):
        self.pool()
        r = self.client.get("/report/", {"q": "is the pool open"})
        self.assertContains(r, "Answers for")
        self.assertContains(r, "/help/public-pools/")
        self.assertNotContains(r, "We found no service")

    def test_the_first_step_of_a_report_shows_its_answers_first(self):
        self.article()
        r = self.client.get("/report/pothole/", follow=True)
        self.assertContains(r, "Before you report")
        self.assertContains(r, "/help/pothole-repair/")

    def test_the_confirmation_says_what_happens_next_from_the_article(self):
        self.article()
        sr = self.report()
        session = self.client.session
        drafts.remember_filed(session, "token", sr.tracking_number, False)
        session.save()
        r = self.client.get(f"/report/done/{sr.tracking_number}/")
        self.assertContains(r, "An inspector looks at it within two days.")


class EditingTests(KnowledgeTestCase):
    def admin_post(self, data: dict, pk: int | None = None):
        self.sign_in(self.ada)
        base = {
            "slug": "bulky-items",
            "title": "How do I throw out a couch?",
            "summary": "Schedule a free bulky-item pickup.",
            "body": "Put it out the night before.",
            "keywords": "",
            "next_steps": "",
            "title__es": "¿Cómo boto un sofá?",
            "summary__es": "Programe una recogida gratis.",
            "body__es": "",
            "keywords__es": "",
            "next_steps__es": "",
            "status": "published",
            "audience": "public",
            "department": str(self.streets.pk),
            "review_by": "2099-01-01",
            "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0",
        }
        base.update(data)
        url = f"/admin/knowledge/article/{pk}/change/" if pk else "/admin/knowledge/article/add/"
        return self.client.post(url, base)

    def test_ada_writes_an_article_in_two_languages_and_rosa_finds_it(self):
        r = self.admin_post({})
        self.assertEqual(r.status_code, 302, r.content[:2000])
        self.client.logout()
        self.assertContains(self.client.get("/help/", {"q": "couch"}), "/help/bulky-items/")
        es = self.client.get("/help/", {"q": "sofá"}, HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(es, "¿Cómo boto un sofá?")

    def test_every_change_is_kept_as_a_revision(self):
        self.admin_post({})
        article = Article.objects.get()
        self.admin_post({"summary": "Book a pickup online or by phone."}, pk=article.pk)
        revisions = ArticleRevision.objects.filter(article=article).order_by("number")
        self.assertEqual([r.number for r in revisions], [1, 2])
        self.assertEqual(revisions[0].content["summary"], "Schedule a free bulky-item pickup.")
        self.assertEqual(revisions[1].content["translations"]["es"]["title"], "¿Cómo boto un sofá?")
        self.assertEqual(revisions[1].by, self.ada)

    def test_an_edit_reaches_the_search_at_once(self):
        self.admin_post({})
        article = Article.objects.get()
        self.admin_post({"title": "Getting rid of a mattress"}, pk=article.pk)
        self.client.logout()
        self.assertContains(self.client.get("/help/", {"q": "mattress"}), "/help/bulky-items/")

    def test_ada_previews_a_draft_that_rosa_cannot_see(self):
        self.admin_post({"status": "draft"})
        article = Article.objects.get()
        r = self.client.get(f"/help/preview/{article.pk}/")
        self.assertContains(r, "Preview: Draft")
        self.client.logout()
        self.assertEqual(self.client.get(f"/help/preview/{article.pk}/").status_code, 302)
        self.sign_in(self.omar)
        self.assertEqual(self.client.get(f"/help/preview/{article.pk}/").status_code, 403)

    def test_a_catalog_change_reaches_the_search(self):
        self.assertNotContains(self.client.get("/help/", {"q": "graffiti"}), "/report/graffiti/")
        from city311.catalog import cache
        from city311.catalog.models import ServiceType

        with cache.one_bump():
            ServiceType.objects.create(service_code="graffiti", service_name="Graffiti")
        self.assertContains(self.client.get("/help/", {"q": "graffiti"}), "/report/graffiti/")


class ConsoleTests(KnowledgeTestCase):
    def test_omar_searches_as_the_caller_speaks(self):
        self.pool()
        self.sign_in(self.omar)
        r = self.client.get("/console/answers/", {"q": "pool"}, HTTP_HX_REQUEST="true")
        self.assertContains(r, "When are the public pools open?")
        self.assertNotContains(r, "<html")

    def test_the_new_request_page_offers_answers_beside_the_services(self):
        self.pool()
        self.sign_in(self.omar)
        r = self.client.get("/console/", {"q": "pool open"})
        self.assertContains(r, "/console/answers/public-pools/")

    def test_omar_reads_out_an_answer_and_records_that_he_used_it(self):
        self.pool()
        self.sign_in(self.omar)
        r = self.client.get("/console/answers/public-pools/")
        self.assertContains(r, "Outdoor pools open daily")
        self.assertContains(r, "Las piscinas al aire libre abren todos los días.")
        r = self.client.post("/console/answers/public-pools/used", follow=True)
        self.assertContains(r, "Used 1 time")
        self.assertEqual(Article.objects.get().used_count, 1)

    def test_an_article_past_its_review_date_is_flagged_and_listed_for_its_owner(self):
        self.article(review_by=city_today() - timedelta(days=1))
        self.pool(review_by=city_today() - timedelta(days=3))
        self.sign_in(self.omar)
        self.assertContains(self.client.get("/console/answers/pothole-repair/"), "Past its review")
        self.sign_in(self.dana)
        r = self.client.get("/console/answers/stale/")
        self.assertContains(r, "How do I get a pothole fixed?")
        self.assertNotContains(r, "When are the public pools open?")
        self.sign_in(self.max)
        r = self.client.get("/console/answers/stale/")
        self.assertContains(r, "How do I get a pothole fixed?")
        self.assertContains(r, "When are the public pools open?")


class ApiTests(KnowledgeTestCase):
    def test_faqs_list_public_articles_with_their_services_and_expiry(self):
        self.article()
        self.article("staff-note", title="Staff note", audience="staff")
        faqs = self.client.get("/open311/inquiry/v1/faqs.json").json()["faqs"]
        self.assertEqual([f["id"] for f in faqs], ["pothole-repair"])
        self.assertEqual(faqs[0]["services"], ["pothole"])
        self.assertEqual(faqs[0]["expiration"], "2099-01-01")
        self.assertIn("<strong>address</strong>", faqs[0]["answer_html"])

    def test_faqs_in_spanish(self):
        self.article()
        faq = self.client.get("/open311/inquiry/v1/faqs/pothole-repair.json", {"lang": "es"})
        self.assertEqual(faq.json()["question"], "¿Cómo arreglan un bache?")

    def test_faqs_of_one_service_and_for_a_question(self):
        self.article()
        self.pool()
        by_service = self.client.get("/open311/inquiry/v1/faqs.json", {"service_code": "pothole"})
        self.assertEqual([f["id"] for f in by_service.json()["faqs"]], ["pothole-repair"])
        asked = self.client.get("/open311/inquiry/v1/faqs.json", {"q": "pool hours"})
        self.assertEqual(asked.json()["faqs"][0]["id"], "public-pools")

    def test_bad_input_is_a_clear_400(self):
        r = self.client.get("/open311/inquiry/v1/faqs.json", {"lang": "xx"})
        self.assertEqual(r.status_code, 400)
        self.assertIn("lang must be one of en", r.json()["error"])
        r = self.client.get("/open311/inquiry/v1/faqs.json", {"service_code": "nope"})
        self.assertEqual(r.status_code, 400)
        r = self.client.get("/open311/inquiry/v1/search.json")
        self.assertEqual(r.status_code, 400)
        self.assertIn("Give q", r.json()["error"])
        r = self.client.get("/open311/inquiry/v1/faqs/nope.json")
        self.assertEqual(r.status_code, 404)

    def test_services_carry_their_faqs_and_a_request_action(self):
        self.article()
        services = self.client.get("/open311/inquiry/v1/services.json").json()["services"]
        pothole = next(s for s in services if s["id"] == "pothole")
        self.assertEqual(pothole["faqs"], ["pothole-repair"])
        self.assertEqual(pothole["web_actions"][0]["type"], "Service Request")
        self.assertNotIn("fire", [s["id"] for s in services])

    def test_one_search_over_answers_and_services(self):
        self.article()
        r = self.client.get("/open311/inquiry/v1/search.json", {"q": "pothole"}).json()
        kinds = {(h["kind"], h["id"]) for h in r["results"]}
        self.assertIn(("article", "pothole-repair"), kinds)
        self.assertIn(("service", "pothole"), kinds)


class ReindexTests(KnowledgeTestCase):
    def test_reindex_rebuilds_from_every_apps_documents(self):
        self.article()
        set_translations(self.pothole, "es", {"service_name": "Bache"})
        from io import StringIO

        out = StringIO()
        call_command("reindex", stdout=out)
        self.assertIn("knowledge: 2 documents", out.getvalue())
        self.assertIn("catalog:", out.getvalue())
        r = self.client.get("/help/", {"q": "bache"}, HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(r, "/report/pothole/")
