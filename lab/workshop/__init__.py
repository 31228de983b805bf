"""Workshop mode: exercises as data, run step by step in front of a room, with a live
page for the projector and a session record (``nox -s workshop``)."""
