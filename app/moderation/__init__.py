"""Moderation: agreeing or changing each agency's own grades, and what that shows."""
