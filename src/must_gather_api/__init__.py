"""must-gather-api: run OpenShift/Kubernetes must-gather over HTTP and hand back the archive."""

__version__ = "0.1.0"
