"""polase.fitting."""
