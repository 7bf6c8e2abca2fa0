"""The HTTP layer: routes, request and response shapes, and the one error mapping."""
