"""Findings: what an audit found, tagged with themes."""
