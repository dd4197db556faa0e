"""What the administrator is told about the emergency word lists of the city's languages."""

from __future__ import annotations

from city311.triage.rules import BASE_LANGUAGES, languages_with_lists


def triage_coverage(languages: list[str]) -> str:
    """ "English, Spanish: own lists. French: no list of its own; its texts are read with the
    English and Spanish lists." A language added later never silently loses triage."""
    have = set(languages_with_lists())
    wanted = [code.strip() for code in languages if code.strip()]
    own = [code for code in wanted if code in have]
    missing = [code for code in wanted if code not in have]
    base = " and ".join(code for code in BASE_LANGUAGES if code in have)
    parts = [f"{', '.join(own) or 'none'}: own emergency word lists."]
    if missing:
        parts.append(
            f"{', '.join(missing)}: no emergency word list of its own yet; texts are read "
            f"with the {base} lists (add city311/triage/words/<language>.yaml)."
        )
    parts.append(f"Every text is also read with the {base} lists.")
    return " ".join(parts)
