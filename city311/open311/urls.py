from django.urls import path, re_path

from city311.open311 import inquiry, views

app_name = "open311"
# Every resource as name.json or name.xml, with or without a trailing slash.
FMT = r"\.(?P<fmt>json|xml)/?$"
V2 = r"^open311/v2/"

urlpatterns = [
    re_path(r"^open311/discovery" + FMT, views.discovery, name="discovery"),
    re_path(V2 + r"discovery" + FMT, views.discovery, name="v2-discovery"),
    re_path(V2 + r"services" + FMT, views.services, name="services"),
    # "service/" too: one client library asks for the definition there.
    re_path(
        V2 + r"services?/(?P<service_code>[^/]+?)" + FMT,
        views.service_definition,
        name="service-definition",
    ),
    re_path(V2 + r"requests" + FMT, views.service_requests, name="requests"),
    re_path(
        V2 + r"requests/(?P<service_request_id>[^/]+?)" + FMT, views.service_request, name="request"
    ),
    re_path(V2 + r"tokens/(?P<token>[^/]+?)" + FMT, views.token, name="token"),
    re_path(V2 + r"servicerequestupdates" + FMT, views.updates, name="updates"),
    re_path(V2 + r"media/(?P<pk>[0-9]+)/?$", views.media, name="media"),
    re_path(V2 + r"openapi\.json/?$", views.openapi_document, name="openapi"),
    # Open311 Inquiry v1 in spirit (JSON): the knowledge base's FAQs, services, one search.
    path("open311/inquiry/v1/faqs.json", inquiry.faqs, name="inquiry-faqs"),
    path("open311/inquiry/v1/faqs/<slug:slug>.json", inquiry.faq, name="inquiry-faq"),
    path("open311/inquiry/v1/services.json", inquiry.services, name="inquiry-services"),
    path("open311/inquiry/v1/search.json", inquiry.search_all, name="inquiry-search"),
    re_path(r"^open311(?:/v2)?/?$", views.index, name="index"),
    re_path(r"^open311/(?P<path>.*)$", views.not_found_any, name="not-found"),
    path("api/docs", views.docs, name="docs"),
]
