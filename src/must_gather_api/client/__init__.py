"""The command-line client: talks to a must-gather-api service over its REST API only.

It never imports the service's internals (api, gatherings, executors, auth): what it
knows of the service is what the HTTP API says.
"""
