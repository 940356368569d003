"""Import benchmark datasets (GSO, SWE-Perf, timeit-script collections) as task files.

Each row becomes ``DIR/<id>.yaml`` plus ``DIR/<id>/`` (workload scripts, ``expert.diff``,
``IMPORT_NOTES.md`` listing what was translated and what could not be); a row that cannot
become a task is skipped with a one-line reason; ``DIR/index.json`` records both.
"""

from perfagent.tools.tasksets.importer import FORMATS, Imported, ImportResult, Skipped, import_tasks
from perfagent.tools.tasksets.rows import TaskImportError

__all__ = ["FORMATS", "ImportResult", "Imported", "Skipped", "TaskImportError", "import_tasks"]
