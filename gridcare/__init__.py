"""GridCare: the customer-service platform of a power supply company (95598 centre, repair, notices, tags, DSM)."""
