"""Widgets of the review screen: findings and groups lists, header pane, preview pane."""
