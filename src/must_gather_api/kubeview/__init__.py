"""The Kubernetes objects of an archive, served read-only as an API server would (`/kube`)."""
