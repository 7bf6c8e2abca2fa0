"""Code shared by the gather scripts of kubesim's stand-in images.

It runs as a plain host process under the host's ``python3`` and uses only the standard
library. Every path inside the container is ``$KUBESIM_ROOT`` + the path the real image
would use; the API is reached as a pod reaches it (service-account token and CA).
"""
