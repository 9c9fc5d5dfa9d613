"""The control plane: durable invalidations fanned out to every edge (imports only `streaming`)."""
