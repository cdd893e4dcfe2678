"""CLI commands for the continuity views: continuity, pipeline, brief, audit, flags."""
