"""kubesim's kubelet (and scheduler): runs the pods of the simulated cluster as processes.

It watches pods and nodes in the store; each pod gets a PodWorker that places it, "pulls"
its images from the catalogue, runs its containers as local processes with their paths
mapped into per-pod directories, and writes the pod's status back. The stream handlers
(``kubesim.streams``) find logs and exec targets through it.
"""

from kubesim.kubelet.agent import Kubelet
from kubesim.kubelet.containers import ExecTarget
from kubesim.kubelet.context import KubeletTimings
from kubesim.kubelet.sources import LogSource

__all__ = ["ExecTarget", "Kubelet", "KubeletTimings", "LogSource"]
