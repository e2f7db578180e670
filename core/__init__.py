"""Everything that is not a screen: report, review, DICOM, OCR and remedy rooms; never imports textual, textual_image or rich."""
