"""CLI commands for the market views: market, concentration, diversity (the projections issue)."""
