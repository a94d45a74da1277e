"""Meter readings: the data model of a one-click IS 15959 read, its plan, and its file format."""

from meterreader.reading.model import (
    CELL_TYPES, EVENT_SECTIONS, FORMAT_VERSION, SECTION_TITLES, MeterIdentity, MeterReading,
    ReadingColumn, ReadingTable, plain_cell, table_from_profile,
)

__all__ = [
    "CELL_TYPES", "EVENT_SECTIONS", "FORMAT_VERSION", "MeterIdentity", "MeterReading",
    "ReadingColumn", "ReadingTable", "SECTION_TITLES", "plain_cell", "table_from_profile",
]
