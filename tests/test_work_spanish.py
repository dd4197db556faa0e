# ruff: noqa: F811
"""The staff work pages speak Spanish to a supervisor who reads Spanish: the queue, a request's
staff page with its work orders, "my work today", and what the city says after each action.

Sofia supervises Streets and has chosen Spanish with the language switch (its cookie); a
request with one work order is hers."""

from __future__ import annotations

import re

from city311.servicerequests import actions
from tests.test_work_queue import NORTH, city, shown  # noqa: F401


def words(response) -> str:
    """What a person reads on the page: its text and its labels for screen readers."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    labels = " ".join(re.findall(r'(?:aria-label|alt)="([^"]*)"', html))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)) + " " + labels


def spanish(client):
    client.cookies["django_language"] = "es"
    return client


def sofias_request(city):
    sr = city.report(**NORTH)
    actions.assign_request(sr, to=city.sofia, by=city.sofia)
    actions.add_work_order(sr, title="Tapar el bache", assignee=city.sofia, by=city.sofia)
    return sr


def assert_reads(page: str, spanish: list[str], english: list[str]) -> None:
    missing = [w for w in spanish if w not in page]
    left = [w for w in english if w in page]
    assert not missing and not left, {"missing Spanish": missing, "English left": left}


def test_the_queue_speaks_spanish(city, client):
    sofias_request(city)
    spanish(client).force_login(city.sofia)
    page = words(client.get("/work/"))
    assert_reads(
        page,
        [
            "Cola de trabajo",
            "Mi trabajo de hoy",
            "Buscar: número de seguimiento, dirección o palabras",
            "Todos los que puedo ver",
            "Solo vencidas",
            "Quitar los filtros",
            "Guardar esta vista",
            "Descargar estas solicitudes en CSV",
            "Mapa de las solicitudes de esta lista",
            "1 solicitud",
            "Número de seguimiento",
            "Asignada a",
            "Urgentes primero, luego las que vencen antes",
            "Hacer una misma cosa con muchas solicitudes",
            "Asignar a una persona",
            "Los residentes pueden leer esta nota",
            "Aplicar",
        ],
        [
            "Work queue",
            "My work today",
            "Search: tracking number",
            "All I can see",
            "Overdue only",
            "Clear the filters",
            "Save this view",
            "Download these requests",
            "Map of the requests",
            "1 request",
            "Tracking number",
            "Assigned to",
            "Urgent first",
            "Do one thing with many requests",
            "Assign to a person",
            "can read this note",
            "Apply",
            "Not closed",
        ],
    )


def test_a_requests_staff_page_and_its_work_orders_speak_spanish(city, client):
    sr = sofias_request(city)
    spanish(client).force_login(city.sofia)
    page = words(client.get(f"/work/requests/{sr.tracking_number}/"))
    assert_reads(
        page,
        [
            f"Solicitud {sr.tracking_number}",
            "Tipo",
            "Departamento",
            "Asignada a",
            "Recibida",
            "Descripción",
            "Trabajar esta solicitud",
            "Empezar el trabajo",
            "Asignar a",
            "Cerrar la solicitud",
            "Resolución",
            "Fusionar con otra solicitud",
            "Transferir",
            "Cambiar el tipo",
            "Órdenes de trabajo",
            "Añadir nota a la orden de trabajo 1",
            "Reasignar la orden de trabajo 1",
            "Iniciar la orden de trabajo 1",
            "Qué se hizo, o por qué se cancela",
            "Cancelar la orden de trabajo",
            "Añadir una orden de trabajo: ¿cuál es el trabajo?",
            "Historial",
            "Mensajes",
        ],
        [
            f"Request {sr.tracking_number}",
            "Department",
            # (not "Assigned to": the history keeps the note written when it happened)
            "Received",
            "Description",
            "Work this request",
            "Start work",
            "Assign to",
            "Close request",
            "Resolution",
            "Merge into another request",
            "Change the type",
            "Work orders",
            "Add note to work order",
            "Reassign work order",
            "What was done",
            "Cancel work order",
            "Add a work order",
            "History",
            "Messages",
            "Nobody",
            "Why",
        ],
    )


def test_my_work_today_speaks_spanish(city, client):
    sofias_request(city)
    spanish(client).force_login(city.sofia)
    page = words(client.get("/work/today/"))
    assert_reads(
        page,
        [
            "Mi trabajo de hoy",
            "1 parada, en orden de ruta: cada una es la más cercana a la anterior.",
            "Orden de trabajo 1: Tapar el bache",
        ],
        ["My work today", "stop", "route order", "Work order 1"],
    )


def test_nothing_assigned_is_said_in_spanish(city, client):
    spanish(client).force_login(city.sofia)
    page = words(client.get("/work/today/"))
    assert_reads(page, ["No tiene nada asignado."], ["Nothing is assigned to you"])


def test_what_the_city_says_after_an_action_is_in_spanish(city, client):
    sr = sofias_request(city)
    spanish(client).force_login(city.sofia)
    number = sr.tracking_number
    r = client.post(f"/work/requests/{number}/work_order_start", {"number": 1}, follow=True)
    assert shown(r) == ["Orden de trabajo 1 iniciada."]
    r = client.post(
        f"/work/requests/{number}/work_order_done", {"number": 1, "result": "Tapado."}, follow=True
    )
    assert shown(r) == [
        "Orden de trabajo 1 hecha. La solicitud está cerrada: todo su trabajo está hecho."
    ]
    r = client.post(
        f"/work/requests/{number}/reopen", {"reason": "Volvió a hundirse."}, follow=True
    )
    assert shown(r) == ["Solicitud reabierta."]
    r = client.post(
        f"/work/requests/{number}/transfer",
        {"department": city.parks.pk, "reason": "Es un árbol."},
        follow=True,
    )
    assert shown(r) == ["Transferida a Parks."]


def test_a_saved_view_and_a_bulk_note_are_confirmed_in_spanish(city, client):
    sr = sofias_request(city)
    spanish(client).force_login(city.sofia)
    r = client.post("/work/views/", {"name": "Mías", "query": "assignee=me"}, follow=True)
    assert shown(r) == ["Se guardó la vista «Mías»."]
    r = client.post(
        "/work/bulk",
        {"action": "note", "selected": [sr.tracking_number], "text": "Revisado."},
        follow=True,
    )
    assert shown(r) == ["Nota añadida: 1 solicitud."]


def test_english_readers_still_read_english(city, client):
    sr = sofias_request(city)
    client.force_login(city.sofia)
    r = client.post(
        f"/work/requests/{sr.tracking_number}/work_order_start", {"number": 1}, follow=True
    )
    assert shown(r) == ["Work order 1 started."]
    page = words(client.get(f"/work/requests/{sr.tracking_number}/"))
    assert "Work this request" in page and "Reassign work order 1" in page
