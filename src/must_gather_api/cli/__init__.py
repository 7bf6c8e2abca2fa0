"""The `must-gather-api` command: `serve` runs the service."""
