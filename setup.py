"""Package data mapping only (metadata lives in pyproject.toml).

templates/, boards/ and firmware/ are top-level folders in the checkout; in a wheel they are
installed as tinyc/data/<folder>/ so tinyc/paths.py finds them the same way.
"""

import os

from setuptools import find_packages, setup

packages = find_packages(include=["tinyc", "tinyc.*"])
package_dir = {}
package_data = {}
for top in ("templates", "boards", "firmware"):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in (".pio", "__pycache__")]
        pkg = "tinyc.data." + root.replace(os.sep, ".")
        packages.append(pkg)
        package_dir[pkg] = root
        package_data[pkg] = ["*"]
packages.append("tinyc.data")
package_dir["tinyc.data"] = "tinyc/data"

setup(packages=packages, package_dir=package_dir, package_data=package_data)
