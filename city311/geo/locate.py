"""Where is it, and is it ours: one answer for every channel's location."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from city311.cities import profile
from city311.geo.boundaries import Area, area_index
from city311.geo.datasets import current_versions
from city311.geo.models import AddressPoint, BoundaryKind, GeoDataset

# A typed point this far from the nearest known address gets no address of its own.
NEAREST_ADDRESS_M = 75


class LocationProblem(ValueError):
    """The location cannot be used; the message says what to do instead."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class Located:
    lat: float | None
    long: float | None
    address: str
    match: str  # point, address, interpolated, intersection, place, street, unverified, outside
    confidence: float | None = None
    address_id: str = ""
    postcode: str = ""
    areas: list[Area] = field(default_factory=list)
    in_city: bool = True

    def areas_snapshot(self) -> dict[str, dict[str, str]]:
        return areas_snapshot(self.areas)


def areas_snapshot(areas: list[Area]) -> dict[str, dict[str, str]]:
    """The areas a request was in, as kept on it: {kind: {"code": ..., "name": ...}}."""
    snapshot: dict[str, dict[str, str]] = {}
    for area in areas:
        snapshot.setdefault(area.kind, {"code": area.code, "name": area.name})
    return snapshot


def _has_addresses() -> bool:
    return current_versions(("addresses",))[0] != (0, None)


def locate(
    *, lat: float | None, long: float | None, address_string: str = "", address_id: str = ""
) -> Located | None:
    """Resolve what a person gave into a point with its areas; None when nothing was given.

    Raises LocationProblem for an unknown address id or an address the city's file cannot find.
    A city that has loaded no address file keeps a typed address as given ("unverified").
    """
    from city311.geo import geocoding

    address_string = " ".join((address_string or "").split())
    if address_id:
        located = _by_address_id(address_id)
    elif lat is not None and long is not None:
        located = Located(lat, long, address_string, "point", 1.0)
        if not address_string:
            nearest = geocoding.reverse(lat, long)
            if nearest is not None and (nearest.distance_m or 0) <= NEAREST_ADDRESS_M:
                located.address, located.postcode = nearest.address, nearest.postcode
    elif address_string:
        if geocoding.get_index().is_outside(address_string):
            # "10 Main St, Hoboken NJ": the city's pack names the place as outside.
            return Located(None, None, address_string, "outside", in_city=False)
        candidates = geocoding.geocode(address_string, limit=1)
        if not candidates:
            if not _has_addresses():
                return Located(None, None, address_string, "unverified")
            raise LocationProblem(
                "address_string",
                _(
                    "We could not find “%(address)s” in the city. Check the house number and "
                    "street, add the ZIP code, or mark the place on the map."
                )
                % {"address": address_string[:100]},
            )
        best = candidates[0]
        located = Located(
            best.lat,
            best.long,
            best.address,
            best.match,
            best.confidence,
            best.address_id,
            best.postcode,
        )
    else:
        return None
    _add_areas(located)
    return located


def _by_address_id(address_id: str) -> Located:
    version = GeoDataset.objects.filter(name="addresses").values_list("version", flat=True).first()
    point = AddressPoint.objects.filter(source_id=address_id, version=version or 0).first()
    if point is None:
        raise LocationProblem(
            "address_id",
            _("There is no address with id %(id)r; send lat/long instead.") % {"id": address_id},
        )
    address = f"{point.number} {point.street}, {point.city} {point.postcode}".strip(" ,")
    return Located(point.lat, point.long, address, "address", 1.0, point.source_id, point.postcode)


def _add_areas(located: Located) -> None:
    if located.lat is None or located.long is None:
        return
    index = area_index()
    located.areas = index.at(located.lat, located.long)
    located.in_city = not index.has_city_limits or any(
        a.kind == BoundaryKind.CITY_LIMITS for a in located.areas
    )


def outside_referral() -> str:
    """What a resident is told about a place outside the city, in the page's language."""
    return profile.current().outside_referral or _(
        "This place is outside the city, so the city cannot take this request."
    )
