"""The plugin's subprocess runner (qgis/scarp/runner.py) without QGIS: the progress model
against the spans computed by hand from the stage weights, and run() against small shell
programs that speak scarp's stderr protocol (progress lines, a one-line error and exit 1,
a cancel, a program that ignores SIGTERM). The real scarp under real QGIS is tested by
qgis_run.sh and qgis_cancel.sh. usage: runner_unit.py REPO"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(sys.argv[1], "qgis", "scarp"))
import runner  # noqa: E402

fails = 0


def check(cond, what, detail=""):
    global fails
    print(("ok   " if cond else "FAIL ") + what + (" (" + detail + ")" if detail else ""))
    fails += not cond


class Feedback:
    def __init__(self, cancel_at=None):
        self.progress, self.info, self.errors, self.cancel_at, self.cancelled = [], [], [], cancel_at, False

    def setProgress(self, p):
        self.progress.append(p)
        if self.cancel_at is not None and p >= self.cancel_at:
            self.cancelled = True

    def pushInfo(self, s):
        self.info.append(s)

    def pushCommandInfo(self, s):
        self.info.append(s)

    def reportError(self, s):
        self.errors.append(s)

    def isCanceled(self):
        return self.cancelled


class Failed(Exception):
    pass


# ---- the progress model ----------------------------------------------------------------
# stages prepare 0.15, train a 0.275, train b 0.275, map 0.15, evaluate 0.15 (sum 1):
# spans [0, 15), [15, 42.5), [42.5, 70), [70, 85), [85, 100]
m = runner.ProgressModel([("prepare", 0.15), ("train a", 0.275), ("train b", 0.275), ("map", 0.15),
                          ("evaluate", 0.15)])
seen = []
for line in ["== prepare: layer stack", "@progress 0 10 warping layers", "@progress 10 10 warping layers",
             "@progress 5 10 terrain derivatives", "@progress 10 10 terrain derivatives"]:
    m.feed(line)
    seen.append(m.percent)
# first task: half of [0, 15) = 7.5; second: half of what is left, [7.5, 11.25)
check(abs(seen[2] - 7.5) < 1e-9 and abs(seen[3] - 9.375) < 1e-9 and abs(seen[4] - 11.25) < 1e-9,
      "tasks fill half of what is left of the stage", "%r" % seen)
check(not m.feed("== unknown stage") and m.percent == seen[-1], "an unknown stage line moves nothing")
m.feed("== train a")
check(abs(m.percent - 15) < 1e-9, "'== train a' starts at 15 %", "%.3f" % m.percent)
m.feed("== train b: unchanged, reusing its model")
check(abs(m.percent - 42.5) < 1e-9, "a reused stage jumps to its start (42.5 %)", "%.3f" % m.percent)
m.feed("== map cnn_lstm (best by validation)")
check(abs(m.percent - 70) < 1e-9, "'== map ...' starts at 70 %", "%.3f" % m.percent)
m.feed("@progress 50 100 map tiles")
check(abs(m.percent - 73.75) < 1e-9, "half of the first map task = 70 + 7.5 / 2", "%.3f" % m.percent)
m.feed("== train a")  # an earlier stage again never moves the bar back
check(abs(m.percent - 73.75) < 1e-9, "the bar never moves back")
check(m.feed("@progress 1 2 x") and not m.feed("@progressive") and not m.feed("@progress a b c"),
      "only well-formed @progress lines are progress")
one = runner.ProgressModel()
for d in range(0, 11):
    one.feed("@progress %d 10 synth: rasters" % d)
check(abs(one.percent - 50) < 1e-9, "no stages: one span, the first task fills half", "%.3f" % one.percent)

# ---- run() against programs that speak the protocol ------------------------------------
tmp = tempfile.mkdtemp()


def program(body):
    path = os.path.join(tmp, "p%d.sh" % len(os.listdir(tmp)))
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


ok_prog = program('echo "@progress 0 4 job" >&2; echo "@progress 4 4 job" >&2; echo "job: done" >&2; echo table\n')
fb = Feedback()
out, err = runner.run([ok_prog, "run"], fb, Failed)
check(out == ["table"] and err == ["job: done"], "stdout and log lines kept apart from progress", "%r %r" % (out, err))
check(fb.progress == sorted(fb.progress) and fb.progress[-1] == 100.0, "progress increases and ends at 100",
      "%r" % fb.progress)
check("job: done" in fb.info and not any(i.startswith("@progress") for i in fb.info), "the log holds no @progress lines")

bad_prog = program('echo "@progress 1 4 job" >&2; echo "scarp run: /x/rain.csv:3: column 2: not a number" >&2; '
                   'echo "" >&2; exit 1\n')
fb = Feedback()
try:
    runner.run([bad_prog, "run"], fb, Failed)
    check(False, "a failing program raises")
except Failed as e:
    check(str(e) == "scarp run: /x/rain.csv:3: column 2: not a number", "the exception is the last stderr line",
          str(e))
    check(fb.errors == [str(e)], "and it is reported as the error")

slow = program('echo "@progress 1 100 job" >&2; exec sleep 30\n')
fb = Feedback(cancel_at=0.0)
t0 = time.monotonic()
try:
    runner.run([slow, "run"], fb, Failed)
    check(False, "a cancelled run raises")
except Failed as e:
    dt = time.monotonic() - t0
    check("cancelled" in str(e) and dt < 5, "cancel stops the program at once (SIGTERM)", "%.2f s: %s" % (dt, e))

stubborn = program('trap "" TERM; echo "@progress 1 100 job" >&2; i=0; while [ $i -lt 300 ]; do sleep 0.1; '
                   'i=$((i+1)); done\n')
runner.TERM_GRACE = 1.0
fb = Feedback(cancel_at=0.0)
t0 = time.monotonic()
try:
    runner.run([stubborn, "run"], fb, Failed)
    check(False, "a cancelled run raises")
except Failed:
    dt = time.monotonic() - t0
    check(1.0 <= dt < 5, "a program that ignores SIGTERM is killed after the grace time (1 s)", "%.2f s" % dt)

check(runner.find_binary(ok_prog) == ok_prog, "the provider setting comes first")
os.environ["SCARP_BINARY"] = bad_prog
check(runner.find_binary(None) == bad_prog, "then $SCARP_BINARY")
check(runner.find_binary(os.path.join(tmp, "missing")) == bad_prog, "a setting that does not exist is passed over")
sys.exit(1 if fails else 0)
