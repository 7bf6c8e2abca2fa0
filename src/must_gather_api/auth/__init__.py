"""Who is calling, and may they: bearer tokens checked by the cluster."""
