"""Code that runs inside the task's interpreter, not ours: stdlib only, loaded by path.

Nothing here may import perfagent, and nothing else should live in this folder, because it is
put on the workload's ``sys.path`` and must not shadow the project's own modules.
"""
