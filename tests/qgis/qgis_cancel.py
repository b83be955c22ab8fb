"""Cancel from the Processing feedback stops scarp: runs scarp:run on the study given, and
cancels when the log shows STAGE and the progress bar has passed AT % (the bar is
monotonic). Prints the seconds from cancel to return and the exception's message; exits 0
if the algorithm raised the cancel error. usage: qgis_cancel.py STUDY.ini OUT STAGE AT"""
import sys
import time

import pyqgis_env

app, provider = pyqgis_env.start()
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback  # noqa

study, out, stage, at = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])


class CancelAt(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.in_stage = False
        self.t_cancel = None
        self.errors = []
        self.progressChanged.connect(self.on_progress)

    def pushInfo(self, info):
        if info.startswith("== " + stage):
            self.in_stage = True
        print("  log: " + info, flush=True)

    def reportError(self, error, fatalError=False):
        self.errors.append(error)
        print("  error: " + error, flush=True)

    def on_progress(self, p):
        if self.in_stage and p >= at and self.t_cancel is None:
            print("  cancelling at %.1f %%" % p, flush=True)
            self.t_cancel = time.monotonic()
            self.cancel()


alg = QgsApplication.processingRegistry().createAlgorithmById("scarp:run")
fb = CancelAt()
ctx = QgsProcessingContext()
params = {"STUDY": study, "OUT": out}
# QgsProcessingAlgorithm.run() catches the algorithm's QgsProcessingException, reports
# its message through feedback.reportError() and returns (results, False)
try:
    results, finished = alg.run(params, ctx, fb)
except QgsProcessingException as e:
    results, finished = {}, False
    fb.errors.append(str(e))
msg = fb.errors[-1] if fb.errors else "no error reported"
ok = not finished and "cancelled" in msg
if fb.t_cancel is None:
    ok, msg = False, "never reached the cancel point (stage %s, %.0f %%)" % (stage, at)
else:
    print("  returned %.2f s after cancel" % (time.monotonic() - fb.t_cancel))
print("  message: " + msg)
sys.exit(0 if ok else 1)
