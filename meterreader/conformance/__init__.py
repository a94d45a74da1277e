"""Conformance test bench: IS 15959 / DLMS checks of a meter, with evidence and a report.

Qt-free. :func:`~meterreader.conformance.runner.run_conformance` runs the registered checks
(:mod:`~meterreader.conformance.registry`) against a
:class:`~meterreader.conformance.context.ConformanceTarget` and returns a
:class:`~meterreader.conformance.model.ConformanceReport`; :mod:`~meterreader.conformance.report`
writes it as JSON, XLSX or PDF.
"""

from meterreader.conformance.model import CheckOutcome, ConformanceReport, Evidence, Verdict
from meterreader.conformance.registry import CHECKS, CheckDef, CheckFailed, CheckSkipped, check
from meterreader.conformance.context import CheckContext, ConformanceTarget

__all__ = ["CHECKS", "CheckContext", "CheckDef", "CheckFailed", "CheckOutcome", "CheckSkipped",
           "ConformanceReport", "ConformanceTarget", "Evidence", "Verdict", "check"]
