"""Reminders: one digest e-mail a day for each person with returns or actions due."""
