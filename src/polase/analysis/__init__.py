"""polase.analysis."""
