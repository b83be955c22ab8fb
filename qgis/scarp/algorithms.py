"""The scarp algorithms: synth, terrain, prepare, train, evaluate, map and run.

Each runs the scarp binary (runner.py). The study algorithms (prepare … run) take scarp's
config keys as parameters — layers picked from the project become their source files —
start from an optional study.ini, write OUT/study.ini (absolute paths, `out` = OUT) and run
`scarp CMD OUT/study.ini`, so the same run can be repeated from the shell. Maps are loaded
with the styles scarp writes beside them (classes.qml, susceptibility.qml,
uncertainty_sd.qml)."""
import os
from urllib.parse import parse_qs, unquote, urlparse

from qgis.core import (QgsProcessing, QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException,
                       QgsProcessingOutputFile, QgsProcessingOutputFolder, QgsProcessingOutputRasterLayer,
                       QgsProcessingOutputVectorLayer, QgsProcessingParameterBand, QgsProcessingParameterBoolean,
                       QgsProcessingParameterDefinition, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString, QgsProcessingParameterVectorLayer, QgsRasterLayer,
                       QgsVectorLayer)

from . import runner
from .study import Study, StudyError, section_name

MODELS = ["cnn_lstm", "cnn", "lstm", "mlp", "svm", "tree", "forest", "logreg", "boost"]
DERIVE = ["slope", "aspect", "twi", "spi", "curvature", "rivers"]
UNSET = "(default)"  # first option of an optional enum: write nothing, keep scarp's default


def _fail(msg):
    return QgsProcessingException(msg)


def layer_source(layer, what):
    """(path, extra keys) of a layer scarp can read: a GDAL/OGR file, or a delimited-text
    CSV (its x/y fields and CRS become the CSV keys)."""
    if layer is None:
        return None, {}
    provider = layer.providerType()
    src = layer.source()
    if provider in ("gdal", "ogr"):
        path = src.split("|", 1)[0]
        if path.startswith("file://"):
            path = unquote(urlparse(path).path)
        if not os.path.exists(path):
            raise _fail("{}: layer '{}' is not a file scarp can read ({})".format(what, layer.name(), src))
        return path, {}
    if provider == "delimitedtext":
        url = urlparse(src)
        q = {k.lower(): v[0] for k, v in parse_qs(url.query).items()}
        extra = {}
        if "xfield" in q:
            extra["x"] = q["xfield"]
        if "yfield" in q:
            extra["y"] = q["yfield"]
        if layer.crs().isValid():
            extra["crs"] = layer.crs().authid() or layer.crs().toWkt()
        return unquote(url.path), extra
    raise _fail("{}: layer '{}' comes from the '{}' provider; scarp reads files: save it as a GeoPackage, "
                "GeoTIFF or CSV first".format(what, layer.name(), provider))


class ScarpAlgorithm(QgsProcessingAlgorithm):
    """What every scarp algorithm shares: the binary, the subprocess, loading outputs."""
    command = ""
    display = ""
    help_text = ""

    def createInstance(self):
        return type(self)()

    def name(self):
        return self.command

    def displayName(self):
        return self.display

    def group(self):
        return "Landslide susceptibility"

    def groupId(self):
        return "susceptibility"

    def shortHelpString(self):
        return self.help_text

    def binary(self):
        from .provider import scarp_binary
        path = scarp_binary()
        if not path:
            raise _fail("scarp binary not found: set it in Processing ▸ Options ▸ Providers ▸ scarp, set "
                        "$SCARP_BINARY, put scarp on PATH, or build the repository (build/scarp)")
        return path

    def run_scarp(self, args, feedback, stages=None):
        return runner.run([self.binary()] + args + ["--progress", "lines"], feedback, _fail, stages)

    def add_number(self, name, desc, kind=QgsProcessingParameterNumber.Integer, minimum=None, maximum=None,
                   advanced=False):
        p = QgsProcessingParameterNumber(name, desc, kind, None, True)
        if minimum is not None:
            p.setMinimum(minimum)
        if maximum is not None:
            p.setMaximum(maximum)
        self._add(p, advanced)

    def _add(self, p, advanced=False):
        if advanced:
            p.setFlags(p.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(p)

    @staticmethod
    def is_set(parameters, name):
        v = parameters.get(name)
        return v is not None and v != "" and v != []

    def load_raster(self, path, name, context, output):
        """Loads path on completion with the style scarp wrote beside it (NAME.qml)."""
        if not os.path.exists(path):
            return None
        layer = QgsRasterLayer(path, name, "gdal")
        qml = os.path.splitext(path)[0] + ".qml"
        if layer.isValid() and os.path.exists(qml):
            layer.loadNamedStyle(qml)
        if layer.isValid():
            context.temporaryLayerStore().addMapLayer(layer)
            context.addLayerToLoadOnCompletion(
                layer.id(), QgsProcessingContext.LayerDetails(name, context.project(), output))
        return path

    def load_vector(self, path, name, context, output):
        if not os.path.exists(path):
            return None
        layer = QgsVectorLayer(path, name, "ogr")
        if layer.isValid():
            context.temporaryLayerStore().addMapLayer(layer)
            context.addLayerToLoadOnCompletion(
                layer.id(), QgsProcessingContext.LayerDetails(name, context.project(), output))
        return path


class SynthAlgorithm(ScarpAlgorithm):
    command, display = "synth", "Synthetic province (synth)"
    help_text = ("Builds a whole synthetic study area from a seed (DEM, geology, land use, faults, rivers, "
                 "roads, rain stations with daily series, reservoirs and a dated landslide inventory) and "
                 "writes OUT/study.ini, ready for 'Whole study (run)'. Preset mini: 512 × 512 cells and "
                 "100 events, seconds; kerman: the study's 719 events on 4000 × 4000 cells.")
    PRESETS = ["mini", "kerman"]

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterEnum("PRESET", "Preset", self.PRESETS, defaultValue=0))
        self.add_number("SEED", "Seed (default 42)", minimum=0)
        self.addParameter(QgsProcessingParameterString("SIZE", "Size WxH in cells (default: the preset's)",
                                                       optional=True))
        self.add_number("EVENTS", "Landslide events (default: the preset's)", minimum=1)
        self.addParameter(QgsProcessingParameterFolderDestination("OUT", "Output folder"))
        self.addOutput(QgsProcessingOutputFile("STUDY", "study.ini"))
        self.addOutput(QgsProcessingOutputRasterLayer("DEM", "DEM"))
        self.addOutput(QgsProcessingOutputVectorLayer("INVENTORY", "Landslide inventory"))

    def processAlgorithm(self, parameters, context, feedback):
        out = self.parameterAsString(parameters, "OUT", context)
        args = ["synth", "--preset", self.PRESETS[self.parameterAsEnum(parameters, "PRESET", context)], "--out", out]
        if self.is_set(parameters, "SEED"):
            args += ["--seed", str(self.parameterAsInt(parameters, "SEED", context))]
        if self.is_set(parameters, "SIZE"):
            args += ["--size", self.parameterAsString(parameters, "SIZE", context)]
        if self.is_set(parameters, "EVENTS"):
            args += ["--events", str(self.parameterAsInt(parameters, "EVENTS", context))]
        self.run_scarp(args, feedback)
        return {"OUT": out, "STUDY": os.path.join(out, "study.ini"),
                "DEM": self.load_raster(os.path.join(out, "dem.tif"), "dem", context, "DEM"),
                "INVENTORY": self.load_vector(os.path.join(out, "landslides.gpkg"), "landslides", context,
                                              "INVENTORY")}


class TerrainAlgorithm(ScarpAlgorithm):
    command, display = "terrain", "Terrain derivatives (terrain)"
    help_text = ("Derives slope, aspect, curvatures, filled DEM, flow accumulation, rivers, specific catchment "
                 "area, TWI and ln SPI from a DEM (any CRS; degrees are handled) into OUT. The command line is "
                 "shown in the log (terrain takes no study.ini).")
    FLOWS = ["mfd", "d8"]

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer("DEM", "DEM"))
        self.addParameter(QgsProcessingParameterBand("BAND", "DEM band", 1, "DEM", optional=True))
        self.addParameter(QgsProcessingParameterEnum("FLOW", "Flow routing", self.FLOWS, defaultValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination("OUT", "Output folder"))
        for name in ("SLOPE", "ASPECT", "TWI"):
            self.addOutput(QgsProcessingOutputRasterLayer(name, name.lower()))

    def processAlgorithm(self, parameters, context, feedback):
        dem, _ = layer_source(self.parameterAsRasterLayer(parameters, "DEM", context), "DEM")
        out = self.parameterAsString(parameters, "OUT", context)
        args = ["terrain", dem, "--out", out, "--flow", self.FLOWS[self.parameterAsEnum(parameters, "FLOW", context)]]
        if self.is_set(parameters, "BAND"):
            args += ["--band", str(self.parameterAsInt(parameters, "BAND", context))]
        self.run_scarp(args, feedback)
        res = {"OUT": out}
        for name in ("SLOPE", "ASPECT", "TWI"):
            res[name] = self.load_raster(os.path.join(out, name.lower() + ".tif"), name.lower(), context, name)
        return res


class StudyAlgorithm(ScarpAlgorithm):
    """prepare, train, evaluate, map, run: the config keys as parameters."""
    stages = None

    def initAlgorithm(self, config=None):
        P = QgsProcessingParameterMultipleLayers
        self.addParameter(QgsProcessingParameterFile(
            "STUDY", "Study config to start from (study.ini; the keys below override it)",
            extension="ini", optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer("DEM", "DEM ([layer.dem]: the grid)", optional=True))
        self.addParameter(QgsProcessingParameterEnum("DERIVE", "Derive from the DEM", DERIVE, allowMultiple=True,
                                                     defaultValue=[0, 1, 2, 3, 4], optional=True))
        self.addParameter(P("CONTINUOUS", "Continuous layers", QgsProcessing.TypeRaster, optional=True))
        self.addParameter(P("CATEGORICAL", "Categorical layers (one-hot: geology, land use…)",
                            QgsProcessing.TypeRaster, optional=True))
        self.addParameter(P("CIRCULAR", "Circular layers (degrees, e.g. aspect)", QgsProcessing.TypeRaster,
                            optional=True))
        self.addParameter(P("DISTANCE", "Distance to (vectors: faults, rivers, roads…)",
                            QgsProcessing.TypeVectorAnyGeometry, optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer("NDVI_RED", "NDVI: red band raster", optional=True))
        self.addParameter(QgsProcessingParameterBand("NDVI_RED_BAND", "NDVI: red band", None, "NDVI_RED",
                                                     optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer("NDVI_NIR", "NDVI: near-infrared band raster",
                                                            optional=True))
        self.addParameter(QgsProcessingParameterBand("NDVI_NIR_BAND", "NDVI: near-infrared band", None, "NDVI_NIR",
                                                     optional=True))
        self.addParameter(QgsProcessingParameterVectorLayer(
            "INVENTORY", "Landslide inventory (points or polygons; CSV layers keep their x/y fields)",
            [QgsProcessing.TypeVectorAnyGeometry], optional=True))
        self.addParameter(QgsProcessingParameterString("INVENTORY_DATE", "Inventory: event date field",
                                                       optional=True))
        self.addParameter(QgsProcessingParameterString("INVENTORY_LABEL", "Inventory: 1/0 label field (both classes "
                                                       "given: no negatives sampled)", optional=True))
        for name, desc in (("STATIONS", "Rain stations CSV (id, x, y)"),
                           ("RAINFALL", "Daily rainfall CSV (long or wide)"),
                           ("RESERVOIRS", "Reservoirs CSV (id, x, y)"),
                           ("RESERVOIR_LEVELS", "Daily reservoir levels CSV (long or wide)")):
            self.addParameter(QgsProcessingParameterFile(name, desc, extension="csv", optional=True))
        self.add_number("WINDOW", "Days in each antecedent sequence ([temporal] window)", minimum=1)
        self.add_number("SEED", "Seed ([project] seed)", minimum=0)
        self.add_number("THREADS", "Threads (0 = all cores)", minimum=0, advanced=True)
        self.addParameter(QgsProcessingParameterEnum("SPLIT", "Split ([split] method)", [UNSET, "random", "spatial"],
                                                     defaultValue=0, optional=True))
        self.add_number("FOLDS", "Cross-validation folds ([split] folds)", minimum=1)
        self.add_number("REPEATS", "Repeated runs ([split] repeats)", minimum=1, advanced=True)
        self.add_number("BUFFER", "Buffer around test samples, metres ([split] buffer)",
                        QgsProcessingParameterNumber.Double, minimum=0, advanced=True)
        self.addParameter(QgsProcessingParameterEnum("MODELS", "Models ([model] models)", MODELS,
                                                     allowMultiple=True, optional=True))
        self.add_number("EPOCHS", "Epochs ([model] epochs)", minimum=1)
        self.addParameter(QgsProcessingParameterEnum("TUNE", "Network tuning ([model] tune)", [UNSET, "auto", "none"],
                                                     defaultValue=0, optional=True))
        self.addParameter(QgsProcessingParameterEnum("MAP_MODEL", "Model of the map ([map] model)",
                                                     [UNSET, "best"] + MODELS, defaultValue=0, optional=True))
        self.add_number("CLASSES", "Susceptibility classes ([map] classes)", minimum=3, maximum=5)
        self.addParameter(QgsProcessingParameterEnum(
            "BREAKS", "Class breaks ([map] breaks)", [UNSET, "natural", "quantile", "equal", "target", "fixed"],
            defaultValue=0, optional=True))
        extra = QgsProcessingParameterString("EXTRA", "Other config keys, one 'section.key = value' per line",
                                             multiLine=True, optional=True)
        self._add(extra, advanced=True)
        self.init_command_parameters()
        self.addParameter(QgsProcessingParameterFolderDestination("OUT", "Run folder (outputs and study.ini)"))
        self.addOutput(QgsProcessingOutputFile("STUDY_INI", "study.ini"))
        self.init_outputs()

    def init_command_parameters(self):
        pass

    def init_outputs(self):
        pass

    def command_args(self, parameters, context):
        return []

    def build_study(self, parameters, context, out):
        base = self.parameterAsFile(parameters, "STUDY", context) if self.is_set(parameters, "STUDY") else None
        try:
            st = Study(base)
        except StudyError as e:
            raise _fail(str(e))
        st.set("project", "out", out)
        dem = self.parameterAsRasterLayer(parameters, "DEM", context)
        if dem is not None:
            st.set("layer.dem", "path", layer_source(dem, "DEM")[0])
            st.set("layer.dem", "kind", "continuous")
            derive = [DERIVE[i] for i in self.parameterAsEnums(parameters, "DERIVE", context)]
            st.set("layer.dem", "derive", " ".join(derive) if derive else "none")
        for pname, kind in (("CONTINUOUS", "continuous"), ("CATEGORICAL", "categorical"), ("CIRCULAR", "circular")):
            for layer in self.parameterAsLayerList(parameters, pname, context):
                sec = "layer." + section_name(layer.name())
                st.set(sec, "path", layer_source(layer, pname.lower() + " layer")[0])
                st.set(sec, "kind", kind)
        for layer in self.parameterAsLayerList(parameters, "DISTANCE", context):
            st.set("distance." + section_name(layer.name()), "path", layer_source(layer, "distance layer")[0])
        for band in ("RED", "NIR"):
            layer = self.parameterAsRasterLayer(parameters, "NDVI_" + band, context)
            if layer is not None:
                b = self.parameterAsInt(parameters, "NDVI_%s_BAND" % band, context) if self.is_set(
                    parameters, "NDVI_%s_BAND" % band) else 1
                st.set("ndvi", band.lower(), "%s:%d" % (layer_source(layer, "NDVI " + band.lower())[0], b))
        inv = self.parameterAsVectorLayer(parameters, "INVENTORY", context)
        if inv is not None:
            path, extra = layer_source(inv, "inventory")
            if st.has("inventory", "path") and st.get("inventory", "path") != path:
                for k in ("x", "y", "crs"):  # the base's CSV keys belong to the base's inventory
                    st.sections["inventory"].pop(k, None)
            st.set("inventory", "path", path)
            for k, v in extra.items():
                st.set("inventory", k, v)
        for pname, key in (("INVENTORY_DATE", "date"), ("INVENTORY_LABEL", "label")):
            if self.is_set(parameters, pname):
                st.set("inventory", key, self.parameterAsString(parameters, pname, context))
        for pname, key in (("STATIONS", "stations"), ("RAINFALL", "rainfall"), ("RESERVOIRS", "reservoirs"),
                           ("RESERVOIR_LEVELS", "reservoir_levels")):
            if self.is_set(parameters, pname):
                st.set("temporal", key, os.path.abspath(self.parameterAsFile(parameters, pname, context)))
        ints = (("WINDOW", "temporal", "window"), ("SEED", "project", "seed"), ("THREADS", "project", "threads"),
                ("FOLDS", "split", "folds"), ("REPEATS", "split", "repeats"), ("EPOCHS", "model", "epochs"),
                ("CLASSES", "map", "classes"))
        for pname, sec, key in ints:
            if self.is_set(parameters, pname):
                st.set(sec, key, self.parameterAsInt(parameters, pname, context))
        if self.is_set(parameters, "BUFFER"):
            st.set("split", "buffer", repr(self.parameterAsDouble(parameters, "BUFFER", context)))
        enums = (("SPLIT", "split", "method", [UNSET, "random", "spatial"]),
                 ("TUNE", "model", "tune", [UNSET, "auto", "none"]),
                 ("MAP_MODEL", "map", "model", [UNSET, "best"] + MODELS),
                 ("BREAKS", "map", "breaks", [UNSET, "natural", "quantile", "equal", "target", "fixed"]))
        for pname, sec, key, options in enums:
            if self.is_set(parameters, pname):
                i = self.parameterAsEnum(parameters, pname, context)
                if i > 0:
                    st.set(sec, key, options[i])
        models = self.parameterAsEnums(parameters, "MODELS", context) if self.is_set(parameters, "MODELS") else []
        if models:
            st.set("model", "models", " ".join(MODELS[i] for i in models))
        try:
            st.apply_extra(self.parameterAsString(parameters, "EXTRA", context))
        except StudyError as e:
            raise _fail(str(e))
        if not st.has("layer.dem", "path") and not st.has("grid", "crs") and st.get("grid", "reference") in (None, "dem"):
            raise _fail("no DEM: pick a DEM layer or a study config that has one")
        return st

    def processAlgorithm(self, parameters, context, feedback):
        out = os.path.abspath(self.parameterAsString(parameters, "OUT", context))
        os.makedirs(out, exist_ok=True)
        st = self.build_study(parameters, context, out)
        ini = os.path.join(out, "study.ini")
        st.write(ini, "study.ini — written by the scarp QGIS plugin ({}).\nRepeat this run from the shell:\n"
                      "  scarp {} {}".format(self.display, self.command, ini))
        feedback.pushInfo("wrote {}".format(ini))
        stages = self.stages(st) if callable(self.stages) else None
        self.run_scarp([self.command, ini] + self.command_args(parameters, context), feedback, stages)
        res = {"OUT": out, "STUDY_INI": ini}
        res.update(self.outputs(out, context))
        return res

    def outputs(self, out, context):
        return {}


def _models_of(st):
    return (st.get("model", "models") or "cnn_lstm cnn lstm mlp svm tree forest logreg").split()


class MapOutputs:
    def init_map_outputs(self):
        self.addOutput(QgsProcessingOutputRasterLayer("CLASSES", "Susceptibility classes"))
        self.addOutput(QgsProcessingOutputRasterLayer("SUSCEPTIBILITY", "Susceptibility (probability)"))
        self.addOutput(QgsProcessingOutputRasterLayer("UNCERTAINTY", "Uncertainty (ensemble sd)"))

    def map_outputs(self, out, context):
        m = os.path.join(out, "map")
        return {"CLASSES": self.load_raster(os.path.join(m, "classes.tif"), "susceptibility classes", context,
                                            "CLASSES"),
                "SUSCEPTIBILITY": self.load_raster(os.path.join(m, "susceptibility.tif"), "susceptibility", context,
                                                   "SUSCEPTIBILITY"),
                "UNCERTAINTY": self.load_raster(os.path.join(m, "uncertainty_sd.tif"), "uncertainty (sd)", context,
                                                "UNCERTAINTY")}


class PrepareAlgorithm(StudyAlgorithm):
    command, display = "prepare", "Prepare samples (prepare)"
    help_text = ("Aligns every layer on the grid, derives terrain, turns vectors into distance layers, reads the "
                 "inventory and the series, samples non-landslide points, splits and writes the dataset into "
                 "the run folder (OUT/study.ini holds the config).")

    def init_outputs(self):
        self.addOutput(QgsProcessingOutputFile("PREFLIGHT", "preflight.txt"))

    def outputs(self, out, context):
        return {"PREFLIGHT": os.path.join(out, "preflight.txt")}


class TrainAlgorithm(StudyAlgorithm):
    command, display = "train", "Train models (train)"
    help_text = "Trains the models of [model] models (or the one chosen) on the prepared samples of the run folder."

    def init_command_parameters(self):
        self.addParameter(QgsProcessingParameterEnum("MODEL", "Model to train", ["all"] + MODELS, defaultValue=0))

    def command_args(self, parameters, context):
        i = self.parameterAsEnum(parameters, "MODEL", context)
        return ["--model", (["all"] + MODELS)[i]]


class EvaluateAlgorithm(StudyAlgorithm):
    command, display = "evaluate", "Evaluate and report (evaluate)"
    help_text = "Scores every trained model on the test split, permutation importance, plots and report.html."

    def init_outputs(self):
        self.addOutput(QgsProcessingOutputFile("REPORT", "report.html"))
        self.addOutput(QgsProcessingOutputFile("METRICS", "metrics.json"))

    def outputs(self, out, context):
        return {"REPORT": os.path.join(out, "report.html"), "METRICS": os.path.join(out, "metrics.json")}


class MapAlgorithm(MapOutputs, StudyAlgorithm):
    command, display = "map", "Susceptibility map (map)"
    help_text = ("Maps [map] model over every valid cell: susceptibility.tif, classes.tif (loaded with the class "
                 "colours and names) and, with fold or repeat models, uncertainty_sd.tif.")

    def init_outputs(self):
        self.init_map_outputs()

    def outputs(self, out, context):
        return self.map_outputs(out, context)


class RunAlgorithm(MapOutputs, StudyAlgorithm):
    command, display = "run", "Whole study (run)"
    help_text = ("The whole study: prepare → train every model → map → evaluate + report. Stages whose inputs "
                 "did not change are reused. Writes OUT/study.ini: 'scarp run OUT/study.ini' repeats the run.")

    def init_command_parameters(self):
        self.addParameter(QgsProcessingParameterBoolean("FORCE", "Run every stage again", defaultValue=False))

    def command_args(self, parameters, context):
        return ["--force"] if self.parameterAsBool(parameters, "FORCE", context) else []

    def stages(self, st):
        # weights from the mini study's stage times; training shared equally by the models
        models = _models_of(st)
        return ([("prepare", 0.15)] + [("train " + m, 0.55 / len(models)) for m in models] +
                [("map", 0.15), ("evaluate", 0.15)])

    def init_outputs(self):
        self.init_map_outputs()
        self.addOutput(QgsProcessingOutputFile("REPORT", "report.html"))
        self.addOutput(QgsProcessingOutputFile("METRICS", "metrics.json"))

    def outputs(self, out, context):
        res = self.map_outputs(out, context)
        res.update({"REPORT": os.path.join(out, "report.html"), "METRICS": os.path.join(out, "metrics.json")})
        return res


ALGORITHMS = [SynthAlgorithm, TerrainAlgorithm, PrepareAlgorithm, TrainAlgorithm, EvaluateAlgorithm, MapAlgorithm,
              RunAlgorithm]
