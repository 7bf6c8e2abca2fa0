"""The `must-gather-api` command: `serve` runs the service, `demo` runs it against kubesim,
`settings` lists its settings, and the client commands (`run`, `list`, `get`, `logs`,
`download`, `cancel`, `delete`) talk to a running service over its REST API."""
