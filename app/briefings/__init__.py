"""Learning briefings and subgroup reports: drafted from an audit, checked for anything that identifies a child, rendered to PDF, published to the library."""
