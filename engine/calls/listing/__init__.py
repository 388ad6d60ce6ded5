"""The calls list query: filters, sorts, counts and pages that stay fast at millions of calls.

Its parts: ``filters`` turns a ``CallFilter`` into WHERE clauses (searches become sets of matched
call seqs); ``counts`` gives the total; ``pages`` finds a page's ids by a keyset scan of a sort
index, starting deep pages from bookmarks, and fetches their rows; ``tables`` holds the tables read
and their generation, which every cache is keyed on.
"""

from engine.calls.listing.counts import COUNTS, count
from engine.calls.listing.filters import MATCHES, CallFilter, Where, conditions, fts_query, time_conditions
from engine.calls.listing.pages import POSITIONS, scan, summaries
from engine.calls.listing.tables import CALL, Key, generation

__all__ = ["CALL", "COUNTS", "MATCHES", "POSITIONS", "CallFilter", "Key", "Where", "conditions", "count",
           "fts_query", "generation", "scan", "summaries", "time_conditions"]
