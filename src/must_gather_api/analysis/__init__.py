"""Findings over a gathered archive: what is wrong in the cluster it came from.

Each module is one area (operators, nodes, pods, ...) with a pure ``analyze`` over the
archive's files (``source.ArchiveFiles``); ``run.analyze`` runs them all and merges what
two images both reported. See docs/analysis.md.
"""
