#!/usr/bin/env python3
"""check_abi.py: the symbols the shared libtether exports are exactly the checked-in list.

  check_abi.py build/client/libtether.so.0.1.0 client/abi/libtether.symbols [--update]

Reads `nm -D --defined-only`, demangles (c++filt) and compares the sorted names with the list
(one per line, `#` comments allowed). Any symbol that appears (an internal function, a
std:: template instance, SQLite or the wire codec leaking) or disappears (a public function
lost its TETHER_EXPORT) fails the test with a diff; so does a symbol outside the version node
TETHER_0. After an intended API change, rerun with --update and review the diff in the commit
(docs/install.md, "ABI and SONAME").
"""
import difflib
import subprocess
import sys

VERSION_NODE = "TETHER_0"


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
    names, unversioned = [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind == "A" and name == VERSION_NODE:          # the version node's own marker
            continue
        base, sep, version = name.partition("@")
        if version.lstrip("@") != VERSION_NODE:
            unversioned.append(name)
        names.append(base)
    demangled = subprocess.run(["c++filt"], input="\n".join(names) + "\n", capture_output=True,
                               text=True, check=True).stdout.splitlines()
    return sorted(set(demangled)), unversioned


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    lib, listfile = sys.argv[1], sys.argv[2]
    actual, unversioned = exported(lib)
    if "--update" in sys.argv[3:]:
        with open(listfile, "w") as f:
            f.write("# Symbols exported by the shared libtether (nm -D --defined-only | c++filt), sorted.\n"
                    "# Checked by tests/install/check_abi.py (meson test abi); regenerate with --update\n"
                    "# only for an intended API change (docs/install.md, \"ABI and SONAME\").\n")
            f.write("\n".join(actual) + "\n")
        print(f"wrote {len(actual)} symbols to {listfile}")
        return 0
    with open(listfile) as f:
        expected = sorted(l.strip() for l in f if l.strip() and not l.startswith("#"))
    ok = True
    if actual != expected:
        ok = False
        print(f"FAIL: {lib} exports {len(actual)} symbols, {listfile} lists {len(expected)}:")
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(expected, actual, "expected", "actual", lineterm="", n=0))
    if unversioned:
        ok = False
        print(f"FAIL: symbols outside version node {VERSION_NODE}: {unversioned[:20]}")
    if ok:
        print(f"ok: {len(actual)} exported symbols, as listed in {listfile}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
