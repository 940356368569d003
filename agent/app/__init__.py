"""perfagent as a GitHub App: settings (``config``), the webhook route (``server``) and its
event filter (``webhooks``), a persistent job queue (``queue``), the worker that turns a job
into a run and a pull request or comment (``worker``, texts in ``render``), and the running
service (``service``: uvicorn + worker threads; ``perfagent app serve``)."""

from perfagent.tools.extras import require

require("app", "the GitHub App (perfagent app)")
