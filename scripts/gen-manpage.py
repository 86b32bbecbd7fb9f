#!/usr/bin/env python3
"""gen-manpage.py: writes a man page (roff, section 1) for a CLI11 program from its own help.

Runs `PROGRAM --help`, then `PROGRAM SUB --help` for every subcommand listed, recursively, and
turns the sections CLI11 prints (the description, "Usage:", "Positionals:", "Options:",
"Subcommands:") into NAME / SYNOPSIS / DESCRIPTION / OPTIONS / COMMANDS. The help text is the
only source, so the man page cannot drift from the program (docs/install.md). Used at build time
by client/cli/meson.build and server/dist/meson.build; no dependency besides Python 3.

  gen-manpage.py --program build/server/tetherd --name tetherd --version 0.1.0 \
      [--see-also 'tether(1)'] [--extra FILE.roff] --output tetherd.1

Exits non-zero (naming the command) if a help call fails or prints nothing parseable.
"""
import argparse
import os
import re
import subprocess
import sys

SECTION_RE = re.compile(r"^(Positionals|Options|Subcommands):\s*$")
ITEM_RE = re.compile(r"^  (\S.*?)(?:\s{2,}(\S.*))?$")


def run_help(program, path):
    cmd = [program] + path + ["--help"]
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")  # a sanitizer build runs this at build time
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        sys.exit(f"gen-manpage: {' '.join(cmd)}: {e}")
    if out.returncode != 0 or not out.stdout.strip():
        sys.exit(f"gen-manpage: {' '.join(cmd)} exited {out.returncode}: {out.stderr.strip()}")
    return out.stdout


def parse_help(text):
    """-> {'description': str, 'usage': str, 'Options': [(name, desc)], ...}"""
    parsed = {"description": [], "usage": "", "Positionals": [], "Options": [], "Subcommands": []}
    section = None
    for line in text.splitlines():
        if line.startswith("Usage:"):
            usage = line[len("Usage:"):].strip().split(" ", 1)   # argv[0] -> the bare name
            parsed["usage"] = " ".join([os.path.basename(usage[0])] + usage[1:])
            section = "after-usage"
            continue
        m = SECTION_RE.match(line)
        if m:
            section = m.group(1)
            continue
        if section is None:
            if line.strip():
                parsed["description"].append(line.strip())
            continue
        if section in ("Positionals", "Options", "Subcommands") and line.strip():
            item = ITEM_RE.match(line)
            if line.startswith("    ") and parsed[section]:      # a wrapped description
                name, desc = parsed[section][-1]
                parsed[section][-1] = (name, (desc + " " + line.strip()).strip())
            elif item:
                parsed[section].append((item.group(1).strip(), (item.group(2) or "").strip()))
    parsed["description"] = " ".join(parsed["description"])
    return parsed


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def items(out, entries):
    for name, desc in entries:
        out.append(".TP")
        out.append("\\fB" + roff(name) + "\\fR")
        out.append(roff(desc) if desc else "\\&")


def walk(program, path, out, depth):
    """Appends the COMMANDS entries of every subcommand below `path`."""
    parsed = parse_help(run_help(program, path))
    for sub, _ in parsed["Subcommands"]:
        sub = sub.split()[0]
        child = parse_help(run_help(program, path + [sub]))
        out.append(".SS \"" + roff(" ".join([os.path.basename(program)] + path + [sub])) + "\"")
        if child["description"]:
            out.append(roff(child["description"]))
        if child["usage"]:
            out.append(".PP")
            out.append("Usage: \\fB" + roff(child["usage"]) + "\\fR")
        for section in ("Positionals", "Options"):
            entries = [e for e in child[section] if not e[0].startswith("-h,--help")]
            if entries:
                out.append(".PP")
                out.append(section + ":")
                out.append(".RS")
                items(out, entries)
                out.append(".RE")
        if child["Subcommands"]:
            walk(program, path + [sub], out, depth + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--see-also", action="append", default=[])
    ap.add_argument("--extra", help="roff text appended before SEE ALSO")
    ap.add_argument("--output", required=True)
    a = ap.parse_args()

    top = parse_help(run_help(a.program, []))
    if not top["usage"]:
        sys.exit(f"gen-manpage: {a.program} --help printed no 'Usage:' line")
    summary = top["description"]
    if summary.lower().startswith(a.name.lower() + ":"):
        summary = summary[len(a.name) + 1:].strip()
    out = [
        ".\\\" Generated by scripts/gen-manpage.py from `" + a.name + " --help`; do not edit.",
        ".TH " + a.name.upper() + " 1 \"\" \"" + a.name + " " + a.version + "\" \"User Commands\"",
        ".SH NAME",
        roff(a.name) + " \\- " + roff(summary),
        ".SH SYNOPSIS",
        "\\fB" + roff(top["usage"]) + "\\fR",
        ".SH DESCRIPTION",
        roff(summary[:1].upper() + summary[1:]) + ".",
        "Every command prints its own help with \\fB\\-\\-help\\fR; this page is that help, "
        "collected.",
        ".SH OPTIONS",
    ]
    items(out, top["Positionals"] + top["Options"])
    if top["Subcommands"]:
        out.append(".SH COMMANDS")
        walk(a.program, [], out, 1)
    if a.extra:
        with open(a.extra, encoding="utf-8") as f:
            out.append(f.read().rstrip("\n"))
    if a.see_also:
        out.append(".SH SEE ALSO")
        out.append(", ".join("\\fB" + roff(s.split("(")[0]) + "\\fR(" + s.split("(")[1]
                             if "(" in s else roff(s) for s in a.see_also))
    with open(a.output, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
