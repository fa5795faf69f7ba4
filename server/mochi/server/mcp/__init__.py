"""`mochi mcp`: mochi's index offered to coding agents over the Model Context Protocol."""
