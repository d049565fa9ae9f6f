"""The operator console: presence, the live queue, caller card, appeals, control and search."""
