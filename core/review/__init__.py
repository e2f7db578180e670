"""The review session: findings, decisions, undo, marks, filters, groups; the journal and audit; summaries.

May import every lower room (common, dicom, ocr, report)."""
