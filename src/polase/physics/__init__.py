"""polase.physics."""
