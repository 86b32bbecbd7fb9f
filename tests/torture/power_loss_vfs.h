// PowerLossVfs: a SQLite VFS shim that a test registers as the process's default VFS to play a
// power cut. It forwards everything to the VFS it replaces and remembers, per file, the content
// the disk is known to hold: the file as it was when first opened, then its whole content at
// each xSync (fsync). cut() turns every later write, sync, truncate and delete into a silent
// no-op (the machine is "off": closing a connection then writes nothing), and restore() puts
// every file back to its last synced content, keeping a random share of the 4 KB blocks written
// since (`keepOneIn`: 0 = none survive, the worst case; N = about one block in N survives, as
// when the page cache flushed some of them before the cut). The -shm file is deleted, as SQLite
// rebuilds it from the WAL. It also counts syncs per file kind, so a test can assert that a
// commit did or did not fsync.
// Threading: the counters and the cut flag are atomics; the file images are under a mutex.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>

namespace tether::testing::torture {

class PowerLossVfs {
 public:
  // Registers the shim as the default VFS (once per process). Files opened before keep theirs.
  static void install() {
    static std::once_flag once;
    std::call_once(once, [] {
      sqlite3_initialize();
      base() = sqlite3_vfs_find(nullptr);
      sqlite3_vfs& v = vfs();
      v = *base();
      v.zName = "tether-power-loss";
      v.szOsFile = static_cast<int>(sizeof(File)) + base()->szOsFile;
      v.xOpen = &xOpen;
      v.xDelete = &xDelete;
      v.pNext = nullptr;
      sqlite3_vfs_register(&v, 1);
    });
  }

  // Forget every remembered file (a new scenario); files on disk are left as they are.
  static void reset() {
    std::lock_guard lock(mu());
    images().clear();
    cut_().store(false);
    walSyncs_().store(0);
    dbSyncs_().store(0);
  }
  static int64_t walSyncs() { return walSyncs_().load(); }
  static int64_t dbSyncs() { return dbSyncs_().load(); }

  // The power goes off: nothing written from now on reaches the files.
  static void cut() { cut_().store(true); }

  // Power back: every file remembered gets its last synced content (plus a random share of the
  // blocks written after it, see the file comment). Call after every connection was closed.
  static void restore(uint32_t seed, int keepOneIn) {
    std::lock_guard lock(mu());
    std::mt19937 rng(seed);
    for (auto& [path, img] : images()) {
      std::filesystem::remove(path + "-shm");  // rebuilt from the WAL when next opened
      std::string now = slurp(path);
      std::string out = img.synced;
      if (keepOneIn > 0) {
        // Some blocks written after the last sync made it to the disk anyway: within the synced
        // length in any order; past it, the file grew up to the first block that did not.
        for (size_t off = 0; off < now.size(); off += 4096) {
          size_t n = std::min<size_t>(4096, now.size() - off);
          bool keep = rng() % static_cast<uint32_t>(keepOneIn) == 0;
          if (off + n <= out.size()) {
            if (keep) out.replace(off, n, now, off, n);
          } else if (keep) {
            out.resize(off);
            out.append(now, off, n);
          } else {
            break;
          }
        }
      }
      if (!img.exists && out.empty() && !std::filesystem::exists(path)) continue;
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f.write(out.data(), static_cast<std::streamsize>(out.size()));
    }
    images().clear();
    cut_().store(false);
  }

 private:
  struct Image {
    bool exists = false;   // on disk before we first saw it
    std::string synced;    // the content the disk is known to hold
  };
  struct File {
    sqlite3_file base;     // pMethods = our methods
    std::string* path;     // key in images(), owned here
    bool wal;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static sqlite3_vfs*& base() { static sqlite3_vfs* b = nullptr; return b; }
  static sqlite3_vfs& vfs() { static sqlite3_vfs v; return v; }
  static std::mutex& mu() { static std::mutex m; return m; }
  static std::map<std::string, Image>& images() { static std::map<std::string, Image> m; return m; }
  static std::atomic<bool>& cut_() { static std::atomic<bool> c{false}; return c; }
  static std::atomic<int64_t>& walSyncs_() { static std::atomic<int64_t> n{0}; return n; }
  static std::atomic<int64_t>& dbSyncs_() { static std::atomic<int64_t> n{0}; return n; }

  static std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  static File* me(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return me(f)->real(); }

  static int xClose(sqlite3_file* f) {
    int rc = real(f)->pMethods->xClose(real(f));
    delete me(f)->path;
    return rc;
  }
  static int xRead(sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
    return real(f)->pMethods->xRead(real(f), p, n, o);
  }
  static int xWrite(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
    if (cut_().load()) return SQLITE_OK;
    return real(f)->pMethods->xWrite(real(f), p, n, o);
  }
  static int xTruncate(sqlite3_file* f, sqlite3_int64 size) {
    if (cut_().load()) return SQLITE_OK;
    return real(f)->pMethods->xTruncate(real(f), size);
  }
  static int xSync(sqlite3_file* f, int flags) {
    if (cut_().load()) return SQLITE_OK;
    int rc = real(f)->pMethods->xSync(real(f), flags);
    if (rc != SQLITE_OK) return rc;
    ++(me(f)->wal ? walSyncs_() : dbSyncs_());
    std::lock_guard lock(mu());
    images()[*me(f)->path].synced = slurp(*me(f)->path);
    return rc;
  }
  static int xFileSize(sqlite3_file* f, sqlite3_int64* s) { return real(f)->pMethods->xFileSize(real(f), s); }
  static int xLock(sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); }
  static int xUnlock(sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); }
  static int xCheckReservedLock(sqlite3_file* f, int* r) { return real(f)->pMethods->xCheckReservedLock(real(f), r); }
  static int xFileControl(sqlite3_file* f, int op, void* a) { return real(f)->pMethods->xFileControl(real(f), op, a); }
  static int xSectorSize(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
  static int xDeviceCharacteristics(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
  static int xShmMap(sqlite3_file* f, int pg, int sz, int ext, void volatile** pp) { return real(f)->pMethods->xShmMap(real(f), pg, sz, ext, pp); }
  static int xShmLock(sqlite3_file* f, int off, int n, int flags) { return real(f)->pMethods->xShmLock(real(f), off, n, flags); }
  static void xShmBarrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
  static int xShmUnmap(sqlite3_file* f, int del) {
    if (cut_().load()) del = 0;
    return real(f)->pMethods->xShmUnmap(real(f), del);
  }
  static int xFetch(sqlite3_file*, sqlite3_int64, int, void** pp) { *pp = nullptr; return SQLITE_OK; }
  static int xUnfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

  static const sqlite3_io_methods* methods() {
    static const sqlite3_io_methods m = {3, &xClose, &xRead, &xWrite, &xTruncate, &xSync,
                                         &xFileSize, &xLock, &xUnlock, &xCheckReservedLock,
                                         &xFileControl, &xSectorSize, &xDeviceCharacteristics,
                                         &xShmMap, &xShmLock, &xShmBarrier, &xShmUnmap,
                                         &xFetch, &xUnfetch};
    return &m;
  }

  static int xOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* outFlags) {
    File* file = me(f);
    file->base.pMethods = nullptr;
    std::string path = name ? name : "";
    if (!path.empty()) {
      // The first sight of a file: what is on disk now counts as durable (an earlier phase).
      std::lock_guard lock(mu());
      if (!images().count(path)) {
        Image img;
        img.exists = std::filesystem::exists(path);
        if (img.exists) img.synced = slurp(path);
        images()[path] = std::move(img);
      }
    }
    int rc = base()->xOpen(base(), name, file->real(), flags, outFlags);
    if (rc != SQLITE_OK || file->real()->pMethods == nullptr) return rc;
    file->path = new std::string(path);
    file->wal = (flags & SQLITE_OPEN_WAL) != 0;
    file->base.pMethods = methods();
    return rc;
  }
  static int xDelete(sqlite3_vfs*, const char* name, int syncDir) {
    if (cut_().load()) return SQLITE_OK;
    {
      std::lock_guard lock(mu());
      images().erase(name);
    }
    return base()->xDelete(base(), name, syncDir);
  }
};

}  // namespace tether::testing::torture
