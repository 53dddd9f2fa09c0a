"""Trends across audits and years: grades, moderation, findings, actions and reach."""
