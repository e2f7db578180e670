"""The review screen and its controllers (file loading and rendering, OCR, decisions): workers post messages, never touch widgets."""
