"""Runs the scarp binary as a subprocess for a Processing algorithm.

scarp is started with `--progress lines`: it prints "@progress DONE TOTAL LABEL" on stderr
once per percent of each task, and "== STAGE" lines between the stages of a run. Those
drive the progress bar; every other stderr line is shown in the log. Cancel sends SIGTERM
and waits (scarp writes every output under a temporary name and renames it when complete,
so a killed run leaves no file under a final name that is not whole; a rerun resumes).
A non-zero exit becomes a QgsProcessingException carrying scarp's one-line message.

This module needs no QGIS at import: `feedback` is any object with setProgress(float),
pushInfo(str), pushCommandInfo(str), reportError(str) and isCanceled(), and `fail` builds
the exception to raise (QgsProcessingException in the plugin), so the logic is testable
on its own.
"""
import os
import queue
import shlex
import shutil
import signal
import subprocess
import threading

# seconds between SIGTERM and SIGKILL when scarp does not exit after a cancel
TERM_GRACE = 10.0


def find_binary(setting=None):
    """scarp's path: the provider setting, then $SCARP_BINARY, then PATH, then the
    repository's build/scarp (this plugin lives in REPO/qgis/scarp). None if none exists."""
    candidates = [setting, os.environ.get("SCARP_BINARY"), shutil.which("scarp")]
    here = os.path.dirname(os.path.realpath(__file__))
    candidates.append(os.path.join(os.path.dirname(os.path.dirname(here)), "build", "scarp"))
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


class ProgressModel:
    """Maps scarp's stderr to one monotonic percentage.

    `stages` lists the "== " stage prefixes the command will print, in order, with their
    weights (a run: prepare, one train per model, map, evaluate). Each stage owns a span of
    the bar; inside it, each task (a new @progress label) fills half of what is left of
    the span, so the bar always moves forward and reaches a stage's end only when the
    next stage starts. A command without stages is one span."""

    def __init__(self, stages=None):
        stages = stages or [("", 1.0)]
        total = sum(w for _, w in stages)
        self.spans, start = [], 0.0
        for prefix, w in stages:
            self.spans.append((prefix, start, start + w / total))
            start += w / total
        self.stage = 0
        self.pos = 0.0           # where the current task started (0..1 of the bar)
        self.task_end = self._end()
        self.label = None
        self.percent = 0.0

    def _end(self):
        return self.spans[self.stage][2]

    def _advance(self, value):
        self.percent = max(self.percent, min(100.0, 100.0 * value))

    def feed(self, line):
        """Takes one stderr line; returns True if it was a progress line (not for the log)."""
        if line.startswith("@progress "):
            parts = line.split(" ", 3)
            try:
                done, total = int(parts[1]), int(parts[2])
            except (IndexError, ValueError):
                return False
            label = parts[3] if len(parts) > 3 else ""
            if label != self.label:  # a new task: half of what is left of the stage
                self.label = label
                self.pos = self.percent / 100.0
                self.task_end = self.pos + (self._end() - self.pos) / 2
            frac = done / total if total > 0 else 1.0
            self._advance(self.pos + (self.task_end - self.pos) * min(1.0, frac))
            return True
        if line.startswith("== "):
            name = line[3:]
            for i in range(self.stage + 1, len(self.spans)):
                prefix = self.spans[i][0]
                if prefix and (name == prefix or name.startswith(prefix + " ") or name.startswith(prefix + ":")):
                    self.stage = i
                    self.label = None
                    self._advance(self.spans[i][1])
                    break
        return False


def _pump(stream, tag, q):
    for raw in iter(stream.readline, b""):
        q.put((tag, raw.decode("utf-8", "replace").rstrip("\r\n")))
    q.put((tag, None))


def run(argv, feedback, fail, stages=None, cwd=None):
    """Runs argv (argv[0] = scarp); returns (stdout lines, stderr lines). Raises fail(msg)
    on a non-zero exit (msg = scarp's last stderr line) or when cancelled."""
    feedback.pushCommandInfo(" ".join(shlex.quote(a) for a in argv))
    model = ProgressModel(stages)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            cwd=cwd)
    q = queue.Queue()
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, "out", q), daemon=True),
             threading.Thread(target=_pump, args=(proc.stderr, "err", q), daemon=True)]
    for t in pumps:
        t.start()
    out_lines, err_lines, open_streams, cancelled = [], [], 2, False
    while open_streams:
        if not cancelled and feedback.isCanceled():
            cancelled = True
            feedback.pushInfo("cancelled: stopping scarp (SIGTERM)")
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(TERM_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
        try:
            tag, line = q.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
            continue
        if tag == "out":
            out_lines.append(line)
            feedback.pushInfo(line)
        elif not model.feed(line):
            err_lines.append(line)
            feedback.pushInfo(line)
        else:
            feedback.setProgress(model.percent)
    rc = proc.wait()
    for t in pumps:
        t.join()
    proc.stdout.close()
    proc.stderr.close()
    if cancelled:
        raise fail("scarp {}: cancelled (stopped with SIGTERM; nothing half-written is left under a final name, "
                   "and running it again resumes)".format(argv[1] if len(argv) > 1 else ""))
    if rc != 0:
        last = next((l for l in reversed(err_lines) if l.strip()), None)
        msg = last or "scarp exited with code {}".format(rc)
        feedback.reportError(msg)
        raise fail(msg)
    feedback.setProgress(100.0)
    return out_lines, err_lines
