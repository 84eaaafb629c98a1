"""Staff access: accounts and roles, signing in, and who may read which case."""
