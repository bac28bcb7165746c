"""Analytics: the administrator's overview (the dashboard comes in its own issue)."""
