"""The case: intake, parties, evidence, the funnel (stage machine) and its history."""
