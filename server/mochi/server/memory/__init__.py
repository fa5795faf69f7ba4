"""The workspace's token memory, built and kept current with the generation back end."""
