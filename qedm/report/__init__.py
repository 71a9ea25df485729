"""The benchmark report: matplotlib figures and one self-contained HTML file."""

from qedm.report.html import render_html, write_report

__all__ = ["render_html", "write_report"]
