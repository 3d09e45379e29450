"""The ASGI application for uvicorn: `uvicorn api.main:app`."""

from api.app import create_app
from services.logs import configure_logging
from services.settings import get_settings

# Here, not only in `cme serve`: with --workers each uvicorn worker imports this module.
configure_logging(get_settings().log_level)
app = create_app()
