"""Candidates: finds items a user has not consumed yet, from several sources, merged by quota."""
