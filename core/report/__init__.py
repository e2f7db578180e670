"""The reconciliation report: reading and writing workbooks and the validator's CSVs, the action vocabulary, the lock, and what a row points at (tags, value, frame).

May import core.common and core.dicom (for locating files); never core.review or core.remedy."""
