"""The scarp Processing provider: its algorithms and the setting that names the binary."""
import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import ALGORITHMS
from . import runner

BINARY_SETTING = "SCARP_BINARY"


def binary_setting():
    """The 'scarp binary' provider setting ('' when unset or outside the Processing plugin)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
        return ProcessingConfig.getSetting(BINARY_SETTING) or ""
    except ImportError:
        return ""


class ScarpProvider(QgsProcessingProvider):
    def load(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(Setting(
                self.name(), BINARY_SETTING,
                "scarp binary (empty: $SCARP_BINARY, then PATH, then the repository's build/scarp)", "",
                valuetype=Setting.FILE))
            ProcessingConfig.readSettings()
        except ImportError:  # qgis_process without the Processing plugin: no settings dialog
            pass
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
            ProcessingConfig.removeSetting(BINARY_SETTING)
        except (ImportError, KeyError):
            pass

    def loadAlgorithms(self):
        for cls in ALGORITHMS:
            self.addAlgorithm(cls())

    def id(self):
        return "scarp"

    def name(self):
        return "scarp"

    def longName(self):
        return "scarp — landslide susceptibility"

    def icon(self):
        return QIcon(os.path.join(os.path.dirname(__file__), "icon.svg"))

    def svgIconPath(self):
        return os.path.join(os.path.dirname(__file__), "icon.svg")


def scarp_binary():
    return runner.find_binary(binary_setting() or None)
