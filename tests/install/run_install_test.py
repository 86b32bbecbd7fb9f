#!/usr/bin/env python3
"""run_install_test.py: installs the build into a temporary root and uses it as a user would.

  run_install_test.py --build-dir BUILD --source-dir SRC --work DIR [--prefix /usr/local]

Steps (each prints "ok: ..." or "FAIL: ..."; the exit status is 1 if any failed):
  1. `meson install --destdir DIR/root --no-rebuild` of the already-built tree.
  2. Every file docs/install.md promises is there (binaries, libtether.so.0 -> .so.0.x.y and
     libtether.a, exactly the public headers, tether.pc, tetherConfig*.cmake, man pages,
     config, systemd unit); the shared library's SONAME is libtether.so.0.
  3. `tetherd --version`, `tether --version` from the root.
  4. Both man pages render with groff (no warnings) and document every top-level subcommand.
  5. `systemd-analyze verify` accepts the installed unit (prefix mapped into the destdir) silently.
  6. The installed tetherd, started with the installed config and $NOTIFY_SOCKET, sends READY=1
     only once it accepts connections, and STOPPING=1 on SIGTERM, then exits 0.
  7. tests/install/c_consumer (Meson + pkg-config) and tests/install/cmake_consumer (CMake
     find_package) build against the root only, shared and static, and each program runs:
     opens a cache, puts a record, reads it back.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

failures = []


def check(ok, what, detail=""):
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok or not detail else "\n    " + detail.strip().replace("\n", "\n    ")))
    if not ok:
        failures.append(what)
    return ok


def run(cmd, env=None, cwd=None, timeout=300):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def libdir_of(build_dir):
    out = run(["meson", "introspect", "--buildoptions", build_dir]).stdout
    import json
    opts = {o["name"]: o["value"] for o in json.loads(out)}
    return opts["prefix"], opts["libdir"], opts["bindir"], opts["includedir"], opts["mandir"], opts["sysconfdir"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()

    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    destdir = os.path.join(work, "root")
    prefix, libdir, bindir, includedir, mandir, sysconfdir = libdir_of(a.build_dir)
    root = destdir + prefix                      # the prefix as installed under DESTDIR
    lib = os.path.join(root, libdir)
    p = lambda *parts: os.path.join(root, *parts)

    # 1. install
    r = run(["meson", "install", "-C", a.build_dir, "--destdir", destdir, "--no-rebuild", "--quiet"])
    if not check(r.returncode == 0, "meson install --destdir", r.stdout + r.stderr):
        return 1

    # 2. the files
    etc = os.path.join(destdir + os.path.join(prefix, sysconfdir)) if not os.path.isabs(sysconfdir) \
        else destdir + sysconfdir
    expected = [p(bindir, "tetherd"), p(bindir, "tether"), os.path.join(lib, "libtether.a"),
                os.path.join(lib, "libtether.so"), os.path.join(lib, "libtether.so.0"),
                os.path.join(lib, "pkgconfig", "tether.pc"),
                os.path.join(lib, "cmake", "tether", "tetherConfig.cmake"),
                os.path.join(lib, "cmake", "tether", "tetherConfigVersion.cmake"),
                p(mandir, "man1", "tetherd.1"), p(mandir, "man1", "tether.1"),
                os.path.join(etc, "tether", "tetherd.toml"),
                p("lib", "systemd", "system", "tetherd.service")]
    missing = [f for f in expected if not os.path.exists(f)]
    check(not missing, "installed files present", "missing: " + " ".join(missing))
    real = os.path.realpath(os.path.join(lib, "libtether.so.0"))
    check(re.fullmatch(r"libtether\.so\.0\.\d+\.\d+", os.path.basename(real)) is not None,
          "libtether.so.0 -> libtether.so.0.x.y", real)
    soname = run(["readelf", "-d", real]).stdout
    check("Library soname: [libtether.so.0]" in soname, "SONAME is libtether.so.0", soname)
    headers = sorted(os.listdir(p(includedir, "tether"))) if os.path.isdir(p(includedir, "tether")) else []
    want = sorted(["client.h", "dataset.h", "export.h", "model.h", "status.h", "sync_callbacks.h", "tether.h"])
    check(headers == want, "include/tether holds exactly the public headers", f"got {headers}")

    # 3. versions
    for prog in ("tetherd", "tether"):
        r = run([p(bindir, prog), "--version"])
        check(r.returncode == 0 and re.match(prog + r" \d+\.\d+\.\d+", r.stdout) is not None,
              f"{prog} --version", r.stdout + r.stderr)

    # 4. man pages
    top = {"tetherd": ["serve", "pool", "credentials", "keys", "user-pool", "store"],
           "tether": ["put", "get", "sync", "watch"]}
    for prog, subs in top.items():
        page = p(mandir, "man1", prog + ".1")
        r = run(["groff", "-man", "-Tascii", "-ww", "-z", page])
        check(r.returncode == 0 and not r.stderr.strip(), f"groff accepts {prog}.1 without warnings", r.stderr)
        env = dict(os.environ, MANWIDTH="100")
        text = run(["man", "-l", page], env=env).stdout if shutil.which("man") else \
            run(["groff", "-man", "-Tascii", page]).stdout
        text = re.sub(r".\x08", "", text)
        lacking = [s for s in subs if f"{prog} {s}" not in text]
        check(not lacking and "--help" in text, f"{prog}.1 renders and documents its subcommands",
              f"lacking {lacking}")

    # 5. systemd unit
    unit = p("lib", "systemd", "system", "tetherd.service")
    if shutil.which("systemd-analyze"):
        # The unit names the real prefix (/usr/local/bin/tetherd); verify checks that ExecStart
        # exists, so it reads a copy whose prefix points into the destdir. Any message (an
        # unknown key, a bad value: systemd only warns and ignores them) fails the check.
        staged = os.path.join(work, "verify", "tetherd.service")
        os.makedirs(os.path.dirname(staged))
        with open(unit) as f, open(staged, "w") as out:
            out.write(f.read().replace(prefix.rstrip("/") + "/", root.rstrip("/") + "/"))
        r = run(["systemd-analyze", "verify", "--man=no", staged])
        check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
              "systemd-analyze verify accepts tetherd.service", r.stdout + r.stderr)
    else:
        print("skip: systemd-analyze not installed")
    text = open(unit).read()
    for line in ["Type=notify", "DynamicUser=yes", "StateDirectory=tether", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "Restart=on-failure", f"ExecStart={os.path.join(prefix, bindir)}/tetherd serve"]:
        check(line in text, f"unit has {line}")

    # 6. sd_notify readiness of the installed tetherd with the installed config
    check_notify(p(bindir, "tetherd"), os.path.join(etc, "tether", "tetherd.toml"), work)

    # 7. consumers
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = os.path.join(lib, "pkgconfig")
    env["PKG_CONFIG_SYSROOT_DIR"] = destdir      # tether.pc names the real prefix; the files are here
    env["LD_LIBRARY_PATH"] = lib
    for var in ("CFLAGS", "CXXFLAGS", "LDFLAGS"):
        env.pop(var, None)
    src = os.path.join(a.source_dir, "tests", "install")
    cbuild = os.path.join(work, "c_consumer")
    r = run(["meson", "setup", cbuild, os.path.join(src, "c_consumer")], env=env)
    if check(r.returncode == 0, "c_consumer: meson setup finds tether via pkg-config", r.stdout[-3000:] + r.stderr):
        r = run(["ninja", "-C", cbuild], env=env)
        if check(r.returncode == 0, "c_consumer: builds (shared and static)", r.stdout[-3000:] + r.stderr):
            for exe in ("c_consumer", "c_consumer_static"):
                run_consumer(os.path.join(cbuild, exe), work, env, lib, exe)

    xbuild = os.path.join(work, "cmake_consumer")
    cenv = dict(env)
    cenv.pop("PKG_CONFIG_PATH")
    r = run(["cmake", "-S", os.path.join(src, "cmake_consumer"), "-B", xbuild, "-G", "Ninja",
             "-DCMAKE_PREFIX_PATH=" + root, "-DCMAKE_BUILD_TYPE=Release"], env=cenv)
    if check(r.returncode == 0, "cmake_consumer: find_package(tether) in the prefix", r.stdout[-3000:] + r.stderr):
        r = run(["cmake", "--build", xbuild], env=cenv)
        if check(r.returncode == 0, "cmake_consumer: builds (tether::tether and tether::tether_static)",
                 r.stdout[-3000:] + r.stderr):
            for exe in ("cmake_consumer", "cmake_consumer_static"):
                run_consumer(os.path.join(xbuild, exe), work, cenv, lib, exe)

    print(f"{len(failures)} failed" + (": " + "; ".join(failures) if failures else ""))
    return 1 if failures else 0


def run_consumer(exe, work, env, lib, name):
    cache = os.path.join(work, name + ".db")
    r = run([exe, cache], env=env, timeout=60)
    check(r.returncode == 0 and "theme=dark" in r.stdout and os.path.exists(cache),
          f"{name}: put + get in a local cache", f"exit {r.returncode}: {r.stdout}{r.stderr}")
    needed = run(["readelf", "-d", exe]).stdout
    if name.endswith("_static"):
        check("libtether.so" not in needed, f"{name}: libtether linked statically", needed)
    else:
        ldd = run(["ldd", exe], env=env).stdout
        check("libtether.so.0" in needed and os.path.join(lib, "libtether.so.0") in ldd,
              f"{name}: uses libtether.so.0 from the prefix", ldd)


def check_notify(tetherd, config, work):
    sock_path = os.path.join(work, "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    proc = subprocess.Popen([tetherd, "serve", "--config", config, "--listen", "127.0.0.1:0",
                             "--data-dir", os.path.join(work, "data")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            msg = ""
        port = re.search(r"STATUS=serving on port (\d+)", msg)
        check(msg.startswith("READY=1") and port is not None, "tetherd sends READY=1 (with its port)", repr(msg))
        if port:
            try:
                socket.create_connection(("127.0.0.1", int(port.group(1))), timeout=5).close()
                served = True
            except OSError as e:
                served, msg = False, str(e)
            check(served, "tetherd accepts connections once READY=1 arrived", msg)
        proc.send_signal(signal.SIGTERM)
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            msg = ""
        check(msg == "STOPPING=1", "tetherd sends STOPPING=1 on SIGTERM", repr(msg))
        rc = proc.wait(timeout=30)
        check(rc == 0, "tetherd exits 0 after SIGTERM", proc.stderr.read()[-2000:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        s.close()


if __name__ == "__main__":
    sys.exit(main())
