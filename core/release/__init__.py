"""The release: the package a site uploads after the review, built from the saved decisions.

A high room: it reads decisions through ``report`` and ``review``, corrected
copies through ``remedy``'s manifest, and proves every file again with
``proof`` before anything is released. No lower room imports it.
"""
