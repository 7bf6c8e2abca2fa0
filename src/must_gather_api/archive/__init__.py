"""Archives: how a gathered tree becomes the one file a caller downloads, and its name."""
