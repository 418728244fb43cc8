"""Tools for the people who run the platform: reconciliation (and, later, the `billing` command)."""
