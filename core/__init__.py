"""Everything that is not a screen. Never imports textual, textual_image or rich."""
