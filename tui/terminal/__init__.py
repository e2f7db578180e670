"""What the terminal can do: the graphics probe and the input guard against late replies."""
