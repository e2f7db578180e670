"""Demo data: builders for a sample reconciliation report and its DICOM files."""
