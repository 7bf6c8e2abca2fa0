"""Executors carry out a gathering: they run it into a work directory and say how it went.

``base`` defines the small interface the runner uses; the native Kubernetes executor
implements it on the cluster's API.
"""
