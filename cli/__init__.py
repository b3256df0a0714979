"""The faces of newssearch: the command line (and the HTTP server). Thin calls into the library."""
