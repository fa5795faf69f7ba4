"""mochi.server: the language server, its CLI and the generation back ends."""
