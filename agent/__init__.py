"""perfagent's decisions and entry points (CLI now; the agent graph, batch runner and App later)."""
