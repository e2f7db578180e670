"""Shared helpers every room may use: errors, inert text, atomic files, config, library quieting. Imports no other room."""
