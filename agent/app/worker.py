"""The App's worker: one queued job at a time, from a GitHub request to a pull request.

For a run: the installation allowed by the settings, the requester's permission asked of
the API (write or admin, else a refusal comment), a per-repository cooldown (recorded in the
same statement that checks it, counting every job that starts a run), at most one open
perfagent PR per repository and target; the repository cloned at the ref with an
installation token scoped to that one repository, living only in the git process's
environment (the sandboxed workload never sees it: ``tools.runner`` scrubs ``GITHUB_*`` and
``*TOKEN*``); ``[tool.perfagent]`` read into a task; the agent run under the data dir.

A verified speedup becomes a branch ``perfagent/<target>-<id>``, committed in a *fresh*
clone and pushed to the clone URL the API gave (never from the measured tree, whose
``.git/config`` the repository's code could have rewritten), a PR and a successful check run
on the triggering PR. A verified speedup the reward-hack guard flagged becomes a draft PR
naming each flag and a neutral check (or, with ``on_flagged = "comment"``, a comment naming
them). Anything else becomes a comment saying what was tried and why nothing was kept.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfagent.agent.app import render
from perfagent.agent.app.config import AppConfig
from perfagent.agent.app.queue import Job, JobQueue
from perfagent.agent.context import Budgets, RunContext
from perfagent.agent.proposers import make_proposer
from perfagent.agent.run import new_run_id, run_graph
from perfagent.agent.target import TargetOptions, resolve_target
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.errors import PerfagentError, WorkspaceError
from perfagent.tools.github import (
    CheckConclusion,
    CheckOutput,
    CheckRun,
    GitHubApp,
    InstallationClient,
    RepoRef,
    Repository,
    clone,
    has_write,
    push_branch,
)
from perfagent.tools.github.git import auth_env
from perfagent.tools.runner import Limits, run, use_isolation
from perfagent.tools.taskspec import load_task

logger = logging.getLogger(__name__)

BRANCH_PREFIX = "perfagent/"
CHECK_NAME = "perfagent"
BOT_NAME = "perfagent"
BOT_EMAIL = "perfagent[bot]@users.noreply.github.com"
RunFn = Callable[[RunContext], dict[str, Any]]
_GIT = Limits(timeout_s=300.0, memory_mb=None, fsize_mb=None)


class Worker:
    """Takes jobs from ``queue`` and answers them as ``app``. ``run`` drives the agent
    (``run_graph``); the machine time per job comes from ``config`` (``candidates_per_round``,
    ``max_runs``)."""

    def __init__(
        self,
        config: AppConfig,
        queue: JobQueue,
        app: GitHubApp,
        *,
        run: RunFn = run_graph,
    ) -> None:
        self.config, self.queue, self.app = config, queue, app
        self._run = run

    def serve(self, stop: threading.Event, wake: threading.Event, poll_s: float = 5.0) -> None:
        """Work until ``stop``; sleep on ``wake`` (set when a job is queued) when idle."""
        while not stop.is_set():
            try:
                job = self.run_once()
            except Exception:  # a bug in one job must not stop the service: logged, job failed
                logger.exception("worker: job crashed")
                continue
            if job is None:
                wake.wait(poll_s)
                wake.clear()

    def run_once(self) -> Job | None:
        """Claim and answer one job; ``None`` when the queue is empty."""
        job = self.queue.claim()
        if job is None:
            return None
        try:
            # Per job, in this thread: a thread does not inherit the level of the one that
            # started it, and the job runs strangers' code.
            with use_isolation(self.config.isolation):
                result = self.handle(job)
        except PerfagentError as exc:
            self.queue.finish(job.id, "failed", {"outcome": "error", "error": str(exc)})
            self._try_comment(job, f"perfagent stopped: {exc}")
        except BaseException as exc:
            self.queue.finish(job.id, "failed", {"outcome": "crash", "error": repr(exc)[:500]})
            raise
        else:
            self.queue.finish(job.id, "done", result)
        return self.queue.get(job.id)

    def handle(self, job: Job) -> dict[str, Any]:
        p = job.payload
        repo, number = RepoRef.parse(str(p["repo"])), int(p["number"])
        installation = int(p["installation_id"])
        if not self.config.installation_allowed(installation):  # the server filters too
            return {"outcome": "refused", "reason": f"installation {installation} not served"}
        gh = self.app.installation(installation, repo)
        if job.kind == "refuse":
            self._comment(gh, repo, number, f"perfagent cannot run this: {p['reason']}")
            return {"outcome": "refused", "reason": str(p["reason"])}
        requester = str(p["requester"])
        permission = gh.permission(repo, requester)
        if not has_write(permission):
            reason = f"@{requester} has {permission} permission; runs need write or admin"
            self._comment(gh, repo, number, f"perfagent will not run: {reason}.")
            return {"outcome": "refused", "reason": reason}
        if p.get("comment_id"):
            gh.add_reaction(repo, int(p["comment_id"]), "eyes")
        repository = gh.repository(repo)
        head_sha: str | None = None
        if p["is_pull"]:
            pr = gh.pull(repo, number)
            if pr.head.repo is None or pr.head.repo.full_name != repository.full_name:
                reason = "pull requests from forks are not optimised"
                self._comment(gh, repo, number, f"perfagent will not run: {reason}.")
                return {"outcome": "refused", "reason": reason}
            ref, base, head_sha = pr.head.sha, pr.head.ref, pr.head.sha
        else:
            ref = base = repository.default_branch
        wait = self.queue.start_run(str(repo), job.id, self.config.cooldown_s)
        if wait > 0:
            reason = f"{repo} was optimised recently; try again in {wait / 60:.0f} min"
            self._comment(gh, repo, number, f"perfagent will not run yet: {reason}.")
            return {"outcome": "cooldown", "reason": reason}
        check = None
        if head_sha is not None:
            check = self._check_run(job, gh, repo, head_sha, requester)
        work = self.config.data_dir / "work" / f"job-{job.id}"
        shutil.rmtree(work, ignore_errors=True)
        try:
            dest = work / repo.name
            sha = clone(repository.clone_url, ref, dest, gh.token())
            return self._optimize(job, gh, repository, dest, sha, base, check)
        except PerfagentError as exc:
            if check is not None:
                self._finish_check(gh, repo, check, "failure", "perfagent stopped", str(exc))
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # -- one run -------------------------------------------------------------------------------
    def _optimize(
        self,
        job: Job,
        gh: InstallationClient,
        repository: Repository,
        dest: Path,
        sha: str,
        base: str,
        check: CheckRun | None,
    ) -> dict[str, Any]:
        p, number = job.payload, int(job.payload["number"])
        repo = RepoRef.parse(repository.full_name)
        staging = self.config.runs_dir / ".staging" / f"job-{job.id}"
        shutil.rmtree(staging, ignore_errors=True)
        task_file = resolve_target(str(dest), TargetOptions(ref=sha), staging)
        task_id = load_task(task_file).id
        prefix = f"{BRANCH_PREFIX}{task_id}-"
        already = gh.open_pulls(repo, head_prefix=prefix)
        if already:
            reason = f"#{already[0].number} is still open for {task_id}"
            self._comment(gh, repo, number, f"perfagent will not run: {reason}.")
            if check is not None:
                self._finish_check(gh, repo, check, "neutral", "perfagent skipped", reason)
            shutil.rmtree(staging, ignore_errors=True)
            return {"outcome": "already open", "pull": already[0].number}
        run_id = new_run_id(task_id)
        run_dir = self.config.runs_dir / run_id
        run_dir.mkdir(parents=True)
        task_file = task_file.rename(run_dir / "task.yaml")
        shutil.rmtree(staging, ignore_errors=True)
        options = p["options"]
        model = str(options["model"])
        budgets = Budgets(
            max_iterations=int(options["max_iterations"]),
            target=options["target"],
            max_time=self.config.max_job_time_s,
            max_cost=self.config.max_job_cost,
        )
        ctx = RunContext(
            task_file=task_file,
            run_dir=run_dir,
            run_id=run_id,
            proposer=make_proposer(model),
            proposer_spec=model,
            budgets=budgets,
            candidates_per_round=self.config.candidates_per_round,
            verdict=SessionConfig(max_runs=self.config.max_runs),
            workdir_parent=dest.parent,
        )
        doc = self._run(ctx)
        summary = {"run_id": run_id, "speedup": (doc.get("final") or {}).get("speedup")}
        why = self.unverified_reason(doc)
        if why is not None:
            self._comment(gh, repo, number, render.nothing_kept(doc, why), marked=False)
            if check is not None:
                self._finish_check(gh, repo, check, "neutral", "perfagent kept nothing", why)
            return {"outcome": "nothing kept", "reason": why, **summary}
        flags = [str(flag) for flag in doc["final"].get("flags") or []]
        line = render.result_line(doc)
        if flags and self.config.on_flagged == "comment":
            self._comment(gh, repo, number, render.flagged(doc, flags), marked=False)
            if check is not None:
                note = "perfagent: a flagged change, not proposed"
                self._finish_check(gh, repo, check, "neutral", note, "\n".join(flags))
            return {"outcome": "flagged", "flags": flags, **summary}
        branch = f"{prefix}{run_id.rsplit('-', 1)[-1]}"
        flagged = " (flagged: review)" if flags else ""
        title = f"perfagent: {task_id} {line.split(' (')[0]}{flagged}"
        # A fresh clone at the measured commit, pushed to the URL the API gave: the measured
        # tree ran the repository's code, which could have rewritten its .git/config (or
        # planted a folder where we would clone: mkdtemp makes a new one, ours alone).
        fresh = Path(tempfile.mkdtemp(prefix="push-", dir=dest.parent)) / repo.name
        clone(repository.clone_url, sha, fresh, gh.token())
        self._commit(fresh, branch, str(doc["final"]["patch"]), title, dest.parent / "patch.diff")
        push_branch(fresh, branch, gh.token(), url=repository.clone_url)
        body = render.pull_body(doc, trigger=f"asked by @{p['requester']}", commit=sha)
        draft = self.config.draft_pulls or bool(flags)
        pr = gh.create_pull(repo, title=title, head=branch, base=base, body=body, draft=draft)
        said = f"perfagent opened #{pr.number}: {line}."
        if flags:
            said += f" A draft: the reward-hack guard flagged {len(flags)} thing(s) to review."
        self._comment(gh, repo, number, said)
        if check is not None:
            conclusion: CheckConclusion = "neutral" if flags else "success"
            self._finish_check(gh, repo, check, conclusion, title, f"{line}\n\n{pr.html_url}")
        result = {"outcome": "pull", "pull": pr.number, "branch": branch, "draft": draft}
        return {**result, "flags": flags, **summary}

    def unverified_reason(self, doc: dict[str, Any]) -> str | None:
        """Why a run's result is not worth a pull request, or ``None`` if it is."""
        final = doc.get("final") or {}
        speedup = final.get("speedup")
        if doc.get("status") != "done":
            return f"the run {doc.get('status')}: {doc.get('error')}"
        if not final.get("patch"):
            return "no edit was kept"
        if final.get("verdict") != "faster":
            return f"the final verdict was {final.get('verdict')}, not faster"
        if final.get("equivalent") is not True:
            return "the outputs were not shown identical to the original's"
        if final.get("tests_passed") is not True:
            return "the tests did not pass"
        if not isinstance(speedup, int | float) or speedup < self.config.min_speedup:
            return f"the speedup {speedup} is below {self.config.min_speedup}"
        return None

    def _check_run(
        self, job: Job, gh: InstallationClient, repo: RepoRef, head_sha: str, requester: str
    ) -> CheckRun:
        """The job's check run: the one an interrupted attempt created, else a new one (so a
        retried job leaves no check run stuck "in progress")."""
        earlier = job.progress.get("check_run")
        if isinstance(earlier, int):
            return CheckRun(id=earlier, name=CHECK_NAME, head_sha=head_sha, status="in_progress")
        output = CheckOutput("perfagent is measuring", f"Requested by @{requester}.")
        check = gh.create_check_run(
            repo,
            name=CHECK_NAME,
            head_sha=head_sha,
            status="in_progress",
            output=output,
            external_id=f"job-{job.id}",
        )
        self.queue.note(job.id, {"check_run": check.id})
        return check

    # -- GitHub and git --------------------------------------------------------------------------
    def _comment(
        self, gh: InstallationClient, repo: RepoRef, number: int, text: str, marked: bool = True
    ) -> None:
        gh.create_comment(repo, number, f"{render.MARKER}\n{text}" if marked else text)

    def _try_comment(self, job: Job, text: str) -> None:
        try:
            p = job.payload
            repo = RepoRef.parse(str(p["repo"]))
            gh = self.app.installation(int(p["installation_id"]), repo)
            self._comment(gh, repo, int(p["number"]), text)
        except PerfagentError:
            logger.warning("job %d: could not comment the error", job.id)

    def _finish_check(
        self,
        gh: InstallationClient,
        repo: RepoRef,
        check: CheckRun,
        conclusion: CheckConclusion,
        title: str,
        summary: str,
    ) -> None:
        output = CheckOutput(title[:200], summary)
        gh.update_check_run(repo, check.id, conclusion=conclusion, output=output)

    def _commit(self, dest: Path, branch: str, patch: str, title: str, patch_file: Path) -> None:
        patch_file.write_text(patch, encoding="utf-8")
        identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
        steps = {
            "checkout": ["checkout", "--quiet", "-b", branch],
            "apply": ["apply", "--index", "--", str(patch_file)],
            "commit": [*identity, "commit", "--quiet", "--no-verify", "-m", title],
        }
        for name, argv in steps.items():
            result = run(
                ["git", "-c", "core.hooksPath=/dev/null", *argv],
                cwd=dest,
                env=auth_env("", None),
                limits=_GIT,
            )
            if not result.ok:
                raise WorkspaceError(f"git {name} in {dest}: {result.summary()}")
