"""Journalists in the store: merged from the lists, or subscribed by themselves, with a
status the lists cannot undo.

- ``record``: ``Journalist``, what every read returns, and the one lookup by address;
- ``writes``: every write to one journalist (a web signup, the API, their own
  preferences, a status) and the rules each keeps;
- ``reads``: reads of many, a chunk at a time (the planner's recipients, the
  console's search, the export);
- ``directory``: ``Journalists``, through which the rest of pressdispatch does all this.

The lists themselves are merged by ``store/listsync.py``.
"""

from pressdispatch.store.journalists.directory import Journalists
from pressdispatch.store.journalists.reads import PER_PAGE, Found, SubscriberQuery
from pressdispatch.store.journalists.record import Journalist

__all__ = ["PER_PAGE", "Found", "Journalist", "Journalists", "SubscriberQuery"]
