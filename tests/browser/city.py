"""Requests on the small city's streets, filed and worked through the domain's own actions."""

from __future__ import annotations

from typing import Any

from city311.servicerequests.intake import submit_request
from city311.servicerequests.models import Channel, ServiceRequest
from city311.servicerequests.validation import Submission
from tests.small_city import dumont_long


def dumont(number: int) -> dict[str, Any]:
    """Where a house on Dumont Avenue stands, as a request's location fields."""
    return {
        "lat": 40.67,
        "long": dumont_long(number),
        "address_string": f"{number} Dumont Avenue",
    }


def reported(service_code: str = "pothole", number: int = 1350, **fields: Any) -> ServiceRequest:
    """Someone else reported this earlier, by phone."""
    values: dict[str, Any] = {
        "service_code": service_code,
        "channel": Channel.PHONE,
        "description": "Deep hole by the curb, cars swerve around it",
        "answers": {"size": "large"} if service_code == "pothole" else {},
        **dumont(number),
    }
    values.update(fields)
    return submit_request(Submission(**values))
