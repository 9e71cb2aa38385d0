"""The numpy reference engine."""
