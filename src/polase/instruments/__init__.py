"""polase.instruments."""
