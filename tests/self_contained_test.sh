#!/bin/sh
# The repository is self-contained: code, docs and the report's texts cite docs/THEORY.md (or the
# papers), never a document outside the repository; every "THEORY §n" / "THEORY.md §n" names a
# section that docs/THEORY.md has. Usage: self_contained_test.sh REPO_ROOT
set -u
root=$1
cd "$root" || exit 1
dirs="README.md apps bench docs examples include python scripts src tests"
status=0
# Documents outside the repository: the project's former reading list and paths above it.
outside=$(grep -rnE '\bSPEC( |\.md|§|'"'"'s)|\.\./shared|shared/SPEC' $dirs 2>/dev/null |
  grep -v '^tests/self_contained_test.sh:')
if [ -n "$outside" ]; then
  echo "references to documents outside the repository:"
  echo "$outside"
  status=1
fi
# Every cited section of THEORY.md exists.
sections=$(grep -oE '^## §[0-9]+' docs/THEORY.md | sed 's/^## //' | sort -u)
cited=$(grep -rhoE 'THEORY(\.md)? §[0-9]+' $dirs 2>/dev/null | grep -oE '§[0-9]+' | sort -u)
for section in $cited; do
  if ! printf '%s\n' "$sections" | grep -qx "$section"; then
    echo "cited but not in docs/THEORY.md: $section"
    grep -rnE "THEORY(\.md)? $section\b" $dirs | head -3
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "self-contained: $(printf '%s\n' "$cited" | wc -l) THEORY sections cited, all present"
exit "$status"
