"""The reports face: the weekly reports as HTML, plain text and PDF, and table exports.

`paceline.analytics.report` assembles a report from the analyses (data only); this package
words and draws it: `render` (HTML with inline styles for e-mail, plain text, PDF through
WeasyPrint, and `report_message`, the (subject, html, text, pdf) a delivery channel sends),
`charts` (static SVG, no JavaScript) and `export` (CSV and XLSX of the pages' tables, with
spreadsheet formula injection neutralised). The CLI, the API and the pages all call it.
"""
