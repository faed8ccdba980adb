"""Users, roles, tokens and who may see which row."""
