"""Personal data: audited reveal of masked numbers (reveal*), consent and retention (see their modules)."""
