"""Qt item models: thin adapters over API pages and events, no business logic."""

from console.models.calls import CallQuery, CallsTableModel
from console.models.live import LiveCallsModel
from console.models.records import Column, PagedRecordModel, RecordTableModel
from console.models.transcript import TranscriptModel

__all__ = ["CallQuery", "CallsTableModel", "Column", "LiveCallsModel", "PagedRecordModel",
           "RecordTableModel", "TranscriptModel"]
