"""Screens pushed over the review: dialogs, groups view, keys help."""
