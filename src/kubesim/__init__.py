"""kubesim: a simulated Kubernetes/OpenShift cluster, faithful enough for the real kubectl.

It is the ground for the service's cluster tests and for the demo. It never imports
``must_gather_api``; the service talks to it only over the Kubernetes API, as it would
to a real cluster.
"""
