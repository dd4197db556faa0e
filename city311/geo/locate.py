"""Where is it, and is it ours: one answer for every channel's location."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from city311.cities import profile
from city311.geo.boundaries import Area, area_index
from city311.geo.datasets import current_versions
from city311.geo.models import AddressPoint, BoundaryKind, GeoDataset
from city311.lib.distance import fast_metres

if TYPE_CHECKING:
    from city311.geo.geocoding import Candidate

# A typed point this far from the nearest known address gets no address of its own.
NEAREST_ADDRESS_M = 75
# City limits are drawn as simplified lines that cut off real addresses on the border (New
# York's 246-09 Jericho Turnpike lies 0.3 m outside its own limits): a point this near the
# limits and this near an address of the city's file is in the city. Farther out, the limits
# decide, since a city may load a regional address file.
BORDER_M = 100
AT_CITY_ADDRESS_M = 20
# How a location was found, as kept on a request (`location_match`) and published as Open311's
# `location_precision`: an exact address point, a named place, a street corner, a number placed
# between two known ones, only the street, or a pin (a map pin or a phone's position).
ADDRESS, PLACE, INTERSECTION = "address", "place", "intersection"
INTERPOLATED, STREET, PIN = "interpolated", "street", "pin"
UNVERIFIED, OUTSIDE = "unverified", "outside"
PRECISIONS = (ADDRESS, PLACE, INTERSECTION, INTERPOLATED, STREET, PIN)
# The least confidence at which a geocoded answer is placed within about 50 m, by how it was
# found; below it (and always for a street alone) the place is "to verify". Measured on real
# NYC addresses by bench/open311_places.py: interpolation at 0.7 and above is within 200 m
# every time and within 50 m 9 times in 10; a whole address at 0.5 (a wrong ZIP) is right.
PLACED_AT = {ADDRESS: 0.5, INTERPOLATED: 0.7, INTERSECTION: 0.7, PLACE: 0.8}
# A street name this unsure (another part of the city, a guessed directional) is not placed.
STREET_SURE = 0.75
# A runner-up this close in confidence, and this far away, makes the answer a guess.
RUNNER_UP_SHARE, RUNNER_UP_M = 0.9, 50.0


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
    match: str  # one of PRECISIONS, or unverified (no address file), or outside
    confidence: float | None = None
    address_id: str = ""
    postcode: str = ""
    areas: list[Area] = field(default_factory=list)
    in_city: bool = True
    # The geocoder could not place it within about 50 m: staff verify it before anyone
    # treats the point as exact. `candidates` are what the text may mean, best first.
    to_verify: bool = False
    candidates: list[Candidate] = field(default_factory=list)

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


def placed(candidates: list[Candidate]) -> bool:
    """Whether the best candidate is placed within about 50 m: exact enough to route and map.

    Not when it is only the street, when its confidence is below its kind's `PLACED_AT`, when
    the street is unsure, or when another candidate fits nearly as well somewhere else.
    """
    if not candidates:
        return False
    best = candidates[0]
    if best.confidence < PLACED_AT.get(best.match, 2.0) or best.street_score < STREET_SURE:
        return False
    return not any(
        other.confidence >= RUNNER_UP_SHARE * best.confidence
        and fast_metres(best.lat, best.long, other.lat, other.long) > RUNNER_UP_M
        for other in candidates[1:]
    )


def locate(
    *,
    lat: float | None,
    long: float | None,
    address_string: str = "",
    address_id: str = "",
    match: str = "",
    confidence: float | None = None,
) -> Located | None:
    """Resolve what a person gave into a point with its areas; None when nothing was given.

    Raises LocationProblem for an unknown address id or an address the city's file cannot find.
    A city that has loaded no address file keeps a typed address as given ("unverified"). An
    address it cannot place within about 50 m comes back `to_verify`, with its candidates.
    A point a channel geocoded itself (the portal's chosen candidate) may say how it was found
    (`match`, `confidence`); otherwise a point is a pin.
    """
    from city311.geo import geocoding

    address_string = " ".join((address_string or "").split())
    if address_id:
        located = _by_address_id(address_id)
    elif lat is not None and long is not None:
        if match in PRECISIONS and match != PIN:
            sure = 1.0 if confidence is None else float(confidence)
            located = Located(lat, long, address_string, match, sure)
            located.to_verify = match == STREET or sure < PLACED_AT.get(match, 2.0)
        else:
            located = Located(lat, long, address_string, PIN, 1.0)
        if not address_string:
            nearest = geocoding.reverse(lat, long)
            if nearest is not None and (nearest.distance_m or 0) <= NEAREST_ADDRESS_M:
                located.address, located.postcode = nearest.address, nearest.postcode
    elif address_string:
        if geocoding.get_index().is_outside(address_string):
            # "10 Main St, Hoboken NJ": the city's pack names the place as outside.
            return Located(None, None, address_string, "outside", in_city=False)
        candidates = geocoding.geocode(address_string, limit=3)
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
        best, sure = candidates[0], placed(candidates)
        # Not placed: the address stays as written (the geocoder's reading of it is a guess,
        # and so would be its ZIP and address id); the point is where staff start looking.
        located = Located(
            best.lat,
            best.long,
            best.address if sure else address_string,
            best.match,
            best.confidence,
            best.address_id if sure else "",
            best.postcode if sure else "",
            to_verify=not sure,
            candidates=candidates,
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
    located.areas = area_index().at(located.lat, located.long)
    located.in_city = in_city(located.lat, located.long, located.areas)


def in_city(lat: float, long: float, areas: list[Area] | None = None) -> bool:
    """Inside the city limits (`areas`: the point's, when known), or on their border at one of
    the addresses of the city's file; a city that loaded no limits takes every point."""
    from city311.geo import geocoding

    index = area_index()
    if not index.has_city_limits:
        return True
    if areas is None:
        areas = index.at(lat, long)
    if any(a.kind == BoundaryKind.CITY_LIMITS for a in areas):
        return True
    if not index.near(BoundaryKind.CITY_LIMITS, lat, long, BORDER_M):
        return False
    nearest = geocoding.reverse(lat, long)
    return nearest is not None and (nearest.distance_m or 0) <= AT_CITY_ADDRESS_M


def outside_referral() -> str:
    """What a resident is told about a place outside the city, in the page's language."""
    return profile.current().outside_referral or _(
        "This place is outside the city, so the city cannot take this request."
    )
