"""polase.io."""
