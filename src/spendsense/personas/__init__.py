"""personas stage."""
