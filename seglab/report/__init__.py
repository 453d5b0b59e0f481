"""The *report* stage: the quarterly persona report (HTML, optionally PDF) and the comparison
with last period.

>>> import seglab
>>> run = seglab.run.open_run("", "sample", "2025Q4")                           # doctest: +SKIP
>>> comparison = seglab.report.compare_runs(run, run.previous())                 # doctest: +SKIP
>>> seglab.report.write_report(seglab.report.render_report(run, comparison), run.report_html)  # doctest: +SKIP
"""

from seglab.report.comparison import Comparison, compare_runs, rerun_command
from seglab.report.html import (executive_summary, figure_uri, render_report, report_context, report_figures,
                                write_report)
from seglab.report.lint import command_problem, figure_problems, lint_report
from seglab.report.pdf import find_chromium, print_pdf, write_pdf

__all__ = [
    "render_report",
    "write_report",
    "report_context",
    "executive_summary",
    "figure_uri",
    "compare_runs",
    "Comparison",
    "print_pdf",
    "write_pdf",
    "find_chromium",
    "report_figures",
    "rerun_command",
    "lint_report",
    "figure_problems",
    "command_problem",
]
