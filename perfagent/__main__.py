"""``python -m perfagent``: the CLI."""

from perfagent.agent.cli import main

if __name__ == "__main__":
    main()
