"""polase.report."""
