"""The `dsignsgd` command of a pip-installed package: runs the CLI installed beside the package
(dsignsgd/bin/dsignsgd) with the same arguments and exit code."""
import os
import sys


def main() -> None:
    binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "dsignsgd")
    if not os.access(binary, os.X_OK):
        sys.exit(f"dsignsgd: no CLI at {binary}: this copy of the package was not installed with "
                 "`pip install .` (in a build tree the CLI is build/apps/dsignsgd/dsignsgd)")
    os.execv(binary, [binary] + sys.argv[1:])


if __name__ == "__main__":
    main()
