#!/usr/bin/env bash
# Issue 29: examples/sde_tour.ipynb executed headless (nbconvert with Debian's ipykernel), so it
# never goes stale: every cell must run (its own asserts included) and the figure must render.
# The executed copy goes to a temporary directory; the committed notebook keeps no outputs.
# Usage: notebook_test.sh SOURCE_DIR (PYTHONPATH must reach the package)
set -euo pipefail
source=$(cd "$1" && pwd)
scratch=$(mktemp -d /tmp/dsignsgd-notebook.XXXXXX)
trap 'rm -rf "$scratch"' EXIT INT TERM
export PATH=/usr/bin:$PATH PYDEVD_DISABLE_FILE_VALIDATION=1  # the kernel: Debian's python3
/usr/bin/python3 -m nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
    --output-dir "$scratch" "$source/examples/sde_tour.ipynb"
/usr/bin/python3 - "$scratch/sde_tour.ipynb" "$source/examples/sde_tour.ipynb" <<'PY'
import json, sys
executed, committed = (json.load(open(path)) for path in sys.argv[1:])
outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
assert not [o for o in outputs if o["output_type"] == "error"], "a cell raised"
assert any("image/png" in o.get("data", {}) for o in outputs), "no figure rendered"
assert all(not c.get("outputs") for c in committed["cells"] if c["cell_type"] == "code"), \
    "the committed notebook has outputs: clear them"
for o in outputs:
    if o["output_type"] == "stream":
        print("".join(o["text"]), end="")
print("notebook test passed")
PY
