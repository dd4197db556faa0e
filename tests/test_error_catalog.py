"""Every error a request action raises has a code and a Spanish wording.

The sweep reads city311's source for each `RequestError` (and its kinds) raised with a message:
the message must be a translatable literal (not an f-string or plain English), the raise must say
its `code`, and the Spanish catalogue must word it. A new error without Spanish fails here, not
on a resident's screen.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.utils import translation
from django.utils.translation import gettext

import city311

ROOT = Path(city311.__file__).parent
ERRORS = {"RequestError", "NoSuchRequest", "MediaInvalid"}
GETTEXT = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy"}


def _errors_in(tree: ast.Module) -> set[str]:
    """The request errors, and a module's own kinds of them (`class NotFound(RequestError)`)."""
    errors = set(ERRORS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            (getattr(base, "id", None) or getattr(base, "attr", None)) in ERRORS
            for base in node.bases
        ):
            errors.add(node.name)
    return errors


def _raised() -> list[tuple[str, ast.Call]]:
    """Each raise of a request error with a message, and each call of a helper that raises one
    with the words its caller gives (`_said(note, _("Write the note..."))`), as that raise."""
    trees = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        trees[path] = ast.parse(path.read_text(), str(path))
    helpers = {}
    for tree in trees.values():
        helpers.update(_helpers(tree, _errors_in(tree)))
    found = []
    for path, tree in trees.items():
        errors = _errors_in(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in errors and node.args and not _passes_a_parameter(node, helpers):
                found.append((where, node))
            elif name in helpers and len(node.args) > helpers[name][0]:
                index, raised = helpers[name]
                found.append((where, ast.Call(raised.func, [node.args[index]], raised.keywords)))
    return found


def _helpers(tree: ast.Module, errors: set[str]) -> dict[str, tuple[int, ast.Call]]:
    """Functions that raise a request error whose message is one of their own parameters: the
    parameter's place and the raise."""
    found = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        names = [a.arg for a in function.args.args]
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) in errors
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in names
            ):
                found[function.name] = (names.index(node.args[0].id), node)
    return found


def _passes_a_parameter(call: ast.Call, helpers: dict[str, tuple[int, ast.Call]]) -> bool:
    """The raise inside such a helper: its words are checked at each call instead."""
    return any(raised is call for _, raised in helpers.values())


def _msgids(message: ast.expr) -> list[str] | None:
    """The literals a message translates (both of `_("a") if x else _("b")`), None when it is
    not translatable, [] when it passes on another error's words (`e.message`, `str(e)`)."""
    if isinstance(message, ast.IfExp):
        body, orelse = _msgids(message.body), _msgids(message.orelse)
        return None if body is None or orelse is None else body + orelse
    if isinstance(message, (ast.Name, ast.Attribute)):
        return []
    if not isinstance(message, ast.Call):
        return None
    name = getattr(message.func, "id", None)
    if name == "str" and message.args and isinstance(message.args[0], ast.Name):
        return []
    if name not in GETTEXT or not message.args:
        return None
    literal = message.args[-1]
    if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
        return [literal.value]
    return None


# Everything, the staff pages' own checks included: a staff member reading Spanish sees them
# in Spanish.
RAISED = _raised()


def test_the_sweep_finds_the_errors():
    assert len(RAISED) > 40
    assert any(where.startswith("work/bulk.py") for where, _ in RAISED)
    # The staff pages' form checks, and the queue's filters naming nothing (a kind of its own).
    assert sum(where.startswith("work/views.py") for where, _ in RAISED) >= 20
    # Words given to a helper that raises them are checked at the call.
    assert sum(where.startswith("servicerequests/actions.py") for where, _ in RAISED) >= 9
    assert sum(where.startswith("work/queries.py") for where, _ in RAISED) == 3


def test_every_error_message_is_a_translatable_literal_with_a_code():
    untranslatable = [where for where, call in RAISED if _msgids(call.args[0]) is None]
    uncoded = [where for where, call in RAISED if not any(k.arg == "code" for k in call.keywords)]
    assert untranslatable == []
    assert uncoded == []


def test_every_error_message_has_a_spanish_wording():
    with translation.override("es"):
        missing = sorted(
            {
                f"{where}: {msgid}"
                for where, call in RAISED
                for msgid in _msgids(call.args[0]) or []
                if gettext(msgid) == msgid
            }
        )
    assert missing == []


def test_the_reopen_reason_is_kept_in_english_and_shown_in_spanish():
    from city311.servicerequests.actions import NOT_FIXED_REASON

    assert NOT_FIXED_REASON == "The resident says it is not fixed."
    with translation.override("es"):
        assert gettext(NOT_FIXED_REASON) == "El residente dice que no está arreglado."
