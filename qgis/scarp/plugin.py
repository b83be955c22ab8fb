"""The plugin object: registers the scarp Processing provider (also under qgis_process)."""
from qgis.core import QgsApplication

from .provider import ScarpProvider


class ScarpPlugin:
    def __init__(self, iface=None):
        self.iface = iface
        self.provider = None

    def initProcessing(self):
        self.provider = ScarpProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
