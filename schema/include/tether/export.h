/* export.h: TETHER_EXPORT, the mark on every symbol of libtether's public API (C and C++).
 *
 * libtether is built with -fvisibility=hidden (and a linker version script, client/abi/), so only
 * declarations carrying TETHER_EXPORT are visible outside the shared library; everything else
 * (the sync engine, the wire codec, SQLite and libwebsockets glue) stays internal and can change
 * without breaking apps. client/abi/libtether.symbols lists what is exported; the `abi` test
 * fails when that set changes (docs/install.md, "ABI and SONAME").
 * Valid in C and C++; no other effect (the static library and tetherd ignore it).
 */
#ifndef TETHER_EXPORT_H
#define TETHER_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define TETHER_EXPORT __attribute__((visibility("default")))
#else
#define TETHER_EXPORT
#endif

#endif /* TETHER_EXPORT_H */
