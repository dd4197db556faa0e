import logging
import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
application = get_wsgi_application()


def _warm_geography() -> None:
    """Build this process's address and area indexes now, not on the first resident's request,
    then set what is loaded aside from the garbage collector (city311.lib.memory).

    On a city's address file the geocoder's index takes seconds to build; a resident who
    types the first address after a deploy should not wait for it.
    """
    from django.db import connection

    from city311.geo.boundaries import area_index
    from city311.geo.geocoding import get_index
    from city311.lib.memory import freeze_what_is_loaded

    try:
        get_index()
        area_index()
    except Exception:  # e.g. a database not migrated yet: the first lookup builds them instead
        logging.getLogger("city311.geo").info("geography indexes not built at start-up")
    finally:
        connection.close()
    # The indexes, the catalog and the code live as long as the process: out of the collector's
    # way, so a request does not pay for a full collection that frees none of them.
    freeze_what_is_loaded()


threading.Thread(target=_warm_geography, name="city311-warm-geography", daemon=True).start()
