"""Standalone PyQGIS with the Processing framework and the scarp provider of this
repository loaded (for the tests that need more than qgis_process: cancel, the dialog)."""
import os
import sys

from qgis.core import QgsApplication

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start(gui=False):
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], gui)
    app.initQgis()
    sys.path.insert(0, "/usr/share/qgis/python/plugins")
    sys.path.insert(0, os.path.join(REPO, "qgis"))
    from processing.core.Processing import Processing
    Processing.initialize()
    from scarp.provider import ScarpProvider
    provider = ScarpProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    return app, provider
