"""The start page: what needs the signed-in person's attention, by their roles."""
