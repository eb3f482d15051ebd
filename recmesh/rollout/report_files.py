"""Where a shadow report is written, and how its builder says there was nothing to compare:
shared by the builder (`python -m offline.shadow`), the control plane that runs it as a
child process, and the CLI, none of which may import the others."""

from __future__ import annotations

SUMMARY_FILE = "shadow-summary.json"
REPORT_FILE = "shadow-report.html"
#: `python -m offline.shadow` exits with this when the logs hold no pair to compare.
EXIT_NO_RECORDS = 3
