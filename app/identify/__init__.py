"""Nothing that identifies a child: what looks like a name, a number, an address or a date
of birth, wherever text about children is written or published."""
