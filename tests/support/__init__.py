"""What the tests share: baking and running team repos, real servers, the org's settings."""
