"""The layers a scarp algorithm loads into the project carry scarp's styles: runs scarp:map
through the Processing framework with a project (as the toolbox does), lets Processing
load the results (handleAlgorithmResults), and compares the layers' renderers with the
rasters themselves: the class layer is paletted with the colour table and the category
names of classes.tif (read with GDAL), the probability layer a pseudocolour ramp over
0 … 1. usage: qgis_load.py STUDY.ini OUT"""
import subprocess
import sys

import pyqgis_env

app, provider = pyqgis_env.start()
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProject  # noqa: E402
from processing.gui.Postprocessing import handleAlgorithmResults  # noqa: E402
from osgeo import gdal  # noqa: E402

study, out = sys.argv[1], sys.argv[2]
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


alg = QgsApplication.processingRegistry().createAlgorithmById("scarp:map")
ctx = QgsProcessingContext()
ctx.setProject(QgsProject.instance())
fb = QgsProcessingFeedback()
params = {"STUDY": study, "MODELS": [7], "OUT": out}
results, finished = alg.run(params, ctx, fb)
check(finished, "scarp:map finished")
check(handleAlgorithmResults(alg, ctx, fb, True, params), "Processing loaded the result layers")
layers = {l.name(): l for l in QgsProject.instance().mapLayers().values()}
print("  layers in the project: %s" % sorted(layers))
cls = layers.get("susceptibility classes")
sus = layers.get("susceptibility")
check(cls is not None and sus is not None, "the class and probability layers are in the project")
if cls is not None:
    r = cls.renderer()
    check(r.type() == "paletted", "classes: paletted renderer (got %s)" % r.type())
    got = [(c.value, c.color.name(), c.label) for c in r.classes()] if r.type() == "paletted" else []
    ds = gdal.Open(out + "/map/classes.tif")
    ct = ds.GetRasterBand(1).GetColorTable()
    info = subprocess.run(["gdalinfo", out + "/map/classes.tif"], capture_output=True, text=True).stdout
    names = [l.split(":", 1)[1].strip() for l in info.split("Categories:")[1].split("Color Table")[0].strip().splitlines()]
    want = [(i, "#%02x%02x%02x" % ct.GetColorEntry(i)[:3], n) for i, n in enumerate(names)]
    print("  renderer: %s\n  raster:   %s" % (got, want))
    check(got == want and len(want) == 4, "classes: the colours and names of classes.tif's colour table and categories")
if sus is not None:
    r = sus.renderer()
    check(r.type() == "singlebandpseudocolor", "susceptibility: pseudocolour renderer (got %s)" % r.type())
    if r.type() == "singlebandpseudocolor":
        sh = r.shader().rasterShaderFunction()
        items = sh.colorRampItemList()
        check((sh.minimumValue(), sh.maximumValue()) == (0.0, 1.0) and items[0].color.name() == "#1a9641" and
              items[-1].color.name() == "#d7191c", "susceptibility: ramp 0 … 1 from green #1a9641 to red #d7191c")
sys.exit(1 if fails else 0)
