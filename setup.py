"""`pip install .`: the package `dsignsgd` from python/dsignsgd, its extension `_core` and the CLI
built by this repository's CMake project and installed beside them (docs/INSTALL.md).

The CMake build goes into DSIGNSGD_BUILD_DIR when set (an existing build tree, e.g. `build`, whose
targets are then only brought up to date) and otherwise into setuptools' build directory. The
files come from `cmake --install` of the runtime and python components into a staging prefix, so
the installed extension and CLI carry the install RUNPATHs ($ORIGIN: the library beside them),
never a path into the build tree.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def project_version() -> str:
    """The version of CMakeLists.txt's project(): one source for the C++ and Python packages."""
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        match = re.search(r"project\(dsignsgd VERSION ([0-9.]+)", f.read())
    if not match:
        sys.exit("setup.py: no project(dsignsgd VERSION …) in CMakeLists.txt")
    return match.group(1)


class CMakeBuild(build_ext):
    """Builds the CLI and the extension with CMake and puts them, and the core library, into the
    package directory."""

    def run(self):
        tree = os.environ.get("DSIGNSGD_BUILD_DIR") or os.path.join(os.path.abspath(self.build_temp), "cmake")
        tree = os.path.abspath(tree)
        jobs = str(os.cpu_count() or 1)
        if not os.path.exists(os.path.join(tree, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", tree, "-DCMAKE_BUILD_TYPE=Release",
                                   "-DDSIGNSGD_BUILD_TESTS=OFF", "-DDSIGNSGD_BUILD_BENCH=OFF",
                                   f"-DPYTHON_EXECUTABLE={sys.executable}"])
        subprocess.check_call(["cmake", "--build", tree, "-j", jobs, "--target", "dsignsgd_cli",
                               "dsignsgd_python_core"])
        staging = os.path.join(os.path.abspath(self.build_temp), "staging")
        shutil.rmtree(staging, ignore_errors=True)
        for component in ("runtime", "python"):
            subprocess.check_call(["cmake", "--install", tree, "--prefix", staging,
                                   "--component", component])
        package = os.path.dirname(os.path.abspath(self.get_ext_fullpath("dsignsgd._core")))
        os.makedirs(os.path.join(package, "bin"), exist_ok=True)
        (core,) = glob.glob(os.path.join(staging, "**", "dsignsgd", "_core*.so"), recursive=True)
        shutil.copy2(core, self.get_ext_fullpath("dsignsgd._core"))
        shutil.copy2(os.path.join(staging, "bin", "dsignsgd"), os.path.join(package, "bin"))
        # The shared core library under its SONAME, the shortest of its names (absent when it
        # was built static: then nothing links it).
        libraries = glob.glob(os.path.join(staging, "lib*", "**", "libdsignsgd.so.*"),
                              recursive=True)
        if libraries:
            shutil.copy2(min(libraries, key=len), package, follow_symlinks=True)


# setuptools' own files (build/, egg-info) under build/pip, out of the source tree's way.
SCRATCH = os.path.join("build", "pip")
os.makedirs(SCRATCH, exist_ok=True)

setup(
    version=project_version(),
    options={"build": {"build_base": SCRATCH}, "egg_info": {"egg_base": SCRATCH}},
    packages=["dsignsgd"],
    package_dir={"dsignsgd": "python/dsignsgd"},
    ext_modules=[Extension("dsignsgd._core", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
