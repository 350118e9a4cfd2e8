#!/usr/bin/env python3
"""The longest functions in the C++ sources: a person should be able to hold one.

    scripts/function_lengths.py [--limit 80] [--top 20] [--allow FILE] [ROOT]

Lists every function body (free functions, member functions defined in a class or outside it,
lambdas counted with the function that holds them) of src/ and apps/ longer than --limit lines,
longest first, as `lines  path:line  name`. With --allow FILE (lines `path name max_lines`), a
listed function may be longer than the limit up to its own cap; the exit code is 1 when any
function is longer than it may be, so the test `function_lengths` keeps it so. Lines are counted
from the line of the signature's name to the closing brace.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

KEYWORDS_NOT_FUNCTIONS = ("namespace", "class", "struct", "enum", "union", "extern")
CONTROL = {"if", "for", "while", "switch", "catch", "do", "else", "return", "try"}


def strip(text: str) -> str:
    """Comments, string and character literals blanked (newlines kept, so lines still count)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path: str):
    """(name, first line, line count) of every function body at namespace or class scope."""
    with open(path, encoding="utf-8") as f:
        text = strip(f.read())
    scopes = []  # per open brace: "function", "type" (namespace/class/struct…) or "block"
    start_of_statement = 0
    found = []
    open_function = None  # (name, start line, depth)
    for i, c in enumerate(text):
        if c in ";":
            start_of_statement = i + 1
        elif c == "{":
            head = text[start_of_statement:i]
            in_function = any(s == "function" for s in scopes)
            words = head.split()
            if in_function:
                scopes.append("block")
            elif words and (words[0] in KEYWORDS_NOT_FUNCTIONS or
                            (words[0] == "template" and any(w in KEYWORDS_NOT_FUNCTIONS
                                                            for w in words[1:3]))):
                scopes.append("type")
            elif "(" in head and ")" in head and not head.rstrip().endswith("=") and \
                    not re.search(r"=\s*$", head):
                name_match = re.search(r"([~\w:]+(?:operator\S*)?)\s*\(", head)
                name = name_match.group(1) if name_match else "?"
                if name in CONTROL:
                    scopes.append("block")
                else:
                    line = text.count("\n", 0, start_of_statement + len(head) -
                                      len(head.lstrip())) + 1
                    scopes.append("function")
                    open_function = (name, line, len(scopes))
            else:
                scopes.append("block" if scopes and scopes[-1] != "type" else "type"
                              if not head.strip() else "block")
            start_of_statement = i + 1
        elif c == "}":
            if scopes:
                if open_function and len(scopes) == open_function[2]:
                    end_line = text.count("\n", 0, i) + 1
                    found.append((open_function[0], open_function[1],
                                  end_line - open_function[1] + 1))
                    open_function = None
                scopes.pop()
            start_of_statement = i + 1
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("--top", type=int, default=0, help="also list the N longest")
    parser.add_argument("--allow", help="file of `path name max_lines` exceptions")
    args = parser.parse_args()
    allowed = {}
    if args.allow:
        with open(args.allow, encoding="utf-8") as f:
            for line in f:
                fields = line.split("#")[0].split()
                if len(fields) == 3:
                    allowed[(fields[0], fields[1])] = int(fields[2])
    rows = []
    for area in ("src", "apps"):
        for directory, _, files in os.walk(os.path.join(args.root, area)):
            for name in sorted(files):
                if name.endswith((".cpp", ".hpp")):
                    path = os.path.join(directory, name)
                    relative = os.path.relpath(path, args.root)
                    rows += [(length, relative, line, fn) for fn, line, length in functions(path)]
    rows.sort(reverse=True)
    if args.top:
        print(f"the {args.top} longest functions:")
        for length, path, line, fn in rows[:args.top]:
            print(f"{length:5d}  {path}:{line}  {fn}")
    failures = 0
    used = set()
    for length, path, line, fn in rows:
        cap = allowed.get((path, fn), args.limit)
        if (path, fn) in allowed:
            used.add((path, fn))
        if length > cap:
            failures += 1
            print(f"{length:5d}  {path}:{line}  {fn}: longer than {cap} lines")
    for key in sorted(set(allowed) - used):
        print(f"stale exception (no such function): {key[0]} {key[1]}")
        failures += 1
    over = sum(1 for length, *_ in rows if length > args.limit)
    print(f"{len(rows)} functions, {over} over {args.limit} lines ({len(allowed)} listed "
          f"exceptions), {failures} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
