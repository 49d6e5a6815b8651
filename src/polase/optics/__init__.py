"""polase.optics."""
