"""setup.py — the Python package tongyuan (python/tongyuan), built from the repository root:

    pip install --no-build-isolation .

Builds the library's position-independent archive with `make` first (TY_BUILD, default
build/), then the cffi extension tongyuan._tongyuan linked to it. docs/python.md.
"""
import os
import subprocess

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("TY_BUILD", "build")


class BuildExt(build_ext):
    def run(self):
        subprocess.run(["make", "-C", ROOT, "BUILD=" + BUILD, BUILD + "/pic/libtongyuan_pic.a"],
                       check=True)
        super().run()


def version():
    for line in open(os.path.join(ROOT, "include", "tongyuan.h"), encoding="utf-8"):
        if line.startswith("#define TY_VERSION_STRING"):
            return line.split('"')[1]
    raise RuntimeError("no TY_VERSION_STRING in include/tongyuan.h")


setup(
    name="tongyuan",
    version=version(),
    description="Find reused, edited and machine-spun (Chinese) text: compare, index, dedup",
    package_dir={"": "python"},
    packages=["tongyuan"],
    package_data={"tongyuan": ["py.typed", "*.pyi"]},
    python_requires=">=3.9",
    setup_requires=["cffi>=1.15"],
    install_requires=["cffi>=1.15"],
    cffi_modules=["python/build_ffi.py:ffibuilder"],
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
)
