# Sourced by the install tests (install_test.sh, pip_install_test.sh, deb_package_test.sh).

fail() { echo "FAIL: $*" >&2; exit 1; }

# loads_libdsignsgd_from FILE DIR [optional]: the libdsignsgd that FILE loads (ldd) resolves
# under DIR, not from a build tree; with "optional", FILE may also link none (a static build).
loads_libdsignsgd_from() {
  local lib
  lib=$(ldd "$1" | awk '/libdsignsgd/ {print $3}')
  if [ -z "$lib" ] && [ "${3:-}" = optional ]; then return 0; fi
  case "$lib" in "$2"/*) ;; *) fail "$1 loads libdsignsgd from '$lib', not from $2" ;; esac
}
