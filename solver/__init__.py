"""Territory planning engine: turns a capacity plan into balanced, viable, compact territories."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
