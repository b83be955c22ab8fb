"""Opens the Processing dialog of a scarp algorithm and saves a PNG of it (run under a
display: xvfb-run). Used by tests/qgis/qgis_dialog.sh and for docs/img/qgis_dialog.png.
With a synthetic study folder (scarp synth), its layers are added to the project and
picked in the dialog, as a user would.
usage: xvfb-run -a /usr/bin/python3 qgis/tools/dialog_screenshot.py OUT.png [ALGORITHM] [WIDTHxHEIGHT] [SYNTH_DIR]"""
import os
import sys

from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = sys.argv[1]
alg_id = sys.argv[2] if len(sys.argv) > 2 else "scarp:run"
w, h = (int(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "900x640").split("x"))
synth = sys.argv[4] if len(sys.argv) > 4 else None

QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], True)
app.initQgis()
sys.path.insert(0, "/usr/share/qgis/python/plugins")
sys.path.insert(0, os.path.join(REPO, "qgis"))
from processing.core.Processing import Processing  # noqa: E402
Processing.initialize()
from scarp.provider import ScarpProvider  # noqa: E402
provider = ScarpProvider()
QgsApplication.processingRegistry().addProvider(provider)
from processing.gui.AlgorithmDialog import AlgorithmDialog  # noqa: E402

alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
if alg is None:
    sys.exit("no algorithm " + alg_id)
values = {}
if synth:
    layers = {}
    for name in ("dem", "erg", "landuse", "aap"):
        layers[name] = QgsRasterLayer(os.path.join(synth, name + ".tif"), name)
    for name in ("faults", "rivers", "roads", "landslides"):
        layers[name] = QgsVectorLayer(os.path.join(synth, name + ".gpkg"), name, "ogr")
    QgsProject.instance().addMapLayers(list(layers.values()))
    values = {"DEM": layers["dem"], "CATEGORICAL": [layers["erg"], layers["landuse"]],
              "CONTINUOUS": [layers["aap"]], "DISTANCE": [layers["faults"], layers["rivers"], layers["roads"]],
              "INVENTORY": layers["landslides"]}
dlg = AlgorithmDialog(alg)
if values:
    dlg.mainWidget().setParameters(values)
dlg.show()
dlg.resize(w, h)  # after show(): the dialog restores its saved geometry when shown


def grab():
    pix = dlg.grab()
    ok = pix.save(out, "PNG")
    print("%s: %dx%d, window title '%s'" % (out, pix.width(), pix.height(), dlg.windowTitle()))
    dlg.close()
    app.exit(0 if ok else 1)


QTimer.singleShot(1500, grab)  # let the widgets lay out and paint
rc = app.exec_()
sys.exit(rc)
