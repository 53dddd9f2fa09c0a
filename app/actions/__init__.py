"""Findings and learning actions: what an audit found, and what will change because of it."""
