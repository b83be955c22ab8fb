"""study.ini from Processing parameters: a base config (optional) plus the keys the user set.

Paths in a base config are relative to its folder; the study.ini written beside the
outputs holds absolute paths (`[project] out` = the run folder), so `scarp run OUT/study.ini`
repeats the run from the shell. No QGIS needed here."""
import configparser
import os
import re

# keys whose values are paths (relative to the config file in scarp)
PATH_KEYS = {
    ("project", "out"), ("project", "truth"), ("inventory", "path"), ("temporal", "stations"),
    ("temporal", "rainfall"), ("temporal", "reservoirs"), ("temporal", "reservoir_levels"),
}
PATHBAND_KEYS = {("ndvi", "red"), ("ndvi", "nir")}  # path:band


class StudyError(Exception):
    """A bad parameter: the message names it."""


def _parser():
    cp = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"),
                                   comment_prefixes=(";", "#"), strict=True, empty_lines_in_values=False)
    cp.optionxform = str  # scarp's keys are case-sensitive
    return cp


def _is_path_key(section, key):
    return (section, key) in PATH_KEYS or (key == "path" and (section.startswith("layer.") or
                                                              section.startswith("distance.")))


def _absolute(value, base_dir):
    return value if not value or os.path.isabs(value) else os.path.normpath(os.path.join(base_dir, value))


def section_name(text):
    """A layer name as scarp's section suffix: lower case letters, digits and '_'."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return name or "layer"


class Study:
    """An ordered INI: sections of key = value."""

    def __init__(self, base_path=None):
        self.sections = {}
        self.base_path = base_path
        if base_path:
            cp = _parser()
            try:
                with open(base_path, encoding="utf-8") as f:
                    cp.read_file(f)
            except (OSError, configparser.Error) as e:
                raise StudyError("{}: cannot read the study config: {}".format(base_path, str(e).splitlines()[0]))
            base_dir = os.path.dirname(os.path.abspath(base_path))
            for s in cp.sections():
                for k, v in cp.items(s):
                    if _is_path_key(s, k):
                        v = _absolute(v, base_dir)
                    elif (s, k) in PATHBAND_KEYS and v:
                        path, sep, band = v.rpartition(":")
                        if not (sep and band.isdigit()):
                            path, band = v, ""
                        v = _absolute(path, base_dir) + (":" + band if band else "")
                    self.set(s, k, v)

    def set(self, section, key, value):
        self.sections.setdefault(section, {})[key] = str(value)

    def get(self, section, key, default=None):
        return self.sections.get(section, {}).get(key, default)

    def has(self, section, key):
        return key in self.sections.get(section, {})

    def apply_extra(self, text):
        """Lines 'section.key = value' (the section may itself hold a dot: layer.dem.kind)."""
        for n, line in enumerate((text or "").splitlines(), 1):
            line = line.split(";", 1)[0].strip()
            if not line:
                continue
            lhs, eq, value = line.partition("=")
            lhs = lhs.strip()
            if not eq or "." not in lhs:
                raise StudyError("other config keys, line {}: expected 'section.key = value' (got '{}')".format(n, line))
            section, _, key = lhs.rpartition(".")
            self.set(section, key.strip(), value.strip())

    def text(self, header):
        out = ["; " + l for l in header.splitlines()] + [""]
        for s, keys in self.sections.items():
            out.append("[{}]".format(s))
            out += ["{} = {}".format(k, v) for k, v in keys.items()]
            out.append("")
        return "\n".join(out)

    def write(self, path, header):
        """Crash-safe: a temporary name, then rename (as scarp writes its own files)."""
        tmp = path + ".partial"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self.text(header))
        os.replace(tmp, path)
