"""What the tests and benchmarks share: baking and running team repos, real servers, git, a
terminal, a stand-in `gh`. Product code never imports it."""
