"""The store: releases as they were sent, journalists, and the delivery ledger."""

from pressdispatch.store.db import Database, open_database
from pressdispatch.store.migrate import upgrade

__all__ = ["Database", "open_database", "upgrade"]
