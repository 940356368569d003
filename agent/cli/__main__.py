from perfagent.agent.cli import main

main()
