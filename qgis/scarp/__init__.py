"""scarp for QGIS: a Processing provider that runs the scarp binary (see docs/10-qgis.md)."""


def classFactory(iface):  # QGIS calls this to load the plugin
    from .plugin import ScarpPlugin
    return ScarpPlugin(iface)
