// FaultyVfs: a SQLite VFS shim that a test registers as the process's default VFS. It forwards
// everything to the VFS it replaces, except that, on demand, writes, syncs and truncations of
// files whose path contains a given fragment fail with SQLITE_IOERR_* — an I/O error from the
// disk as the store sees it. Faults are turned on and off (or made random) from the test thread
// while other threads use the database: the settings are atomics.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <string>

namespace tether::testing::torture {

class FaultyVfs {
 public:
  enum class Mode { kOff, kAlways, kRandom };

  // Registers the shim as the default VFS (once per process). Files opened before keep theirs.
  static void install() {
    static std::once_flag once;
    std::call_once(once, [] {
      sqlite3_initialize();
      base() = sqlite3_vfs_find(nullptr);
      sqlite3_vfs& v = vfs();
      v = *base();
      v.zName = "tether-faulty";
      v.szOsFile = static_cast<int>(sizeof(File)) + base()->szOsFile;
      v.xOpen = &xOpen;
      v.pNext = nullptr;
      sqlite3_vfs_register(&v, 1);
    });
  }

  // Only files whose path contains `fragment` are affected ("" = every file).
  static void setTarget(const std::string& fragment) {
    std::lock_guard lock(targetMu());
    target() = fragment;
  }
  // kRandom: each write/sync fails with probability 1/oneIn.
  static void set(Mode mode, int oneIn = 4) {
    oneIn_().store(oneIn < 1 ? 1 : oneIn);
    mode_().store(mode);
  }
  static int64_t injected() { return injected_().load(); }

  // While held, a sync of a targeted file blocks (before it reaches the disk) until released:
  // a test can stop the store between a COMMIT and its fsync. Also counts the syncs waiting.
  static void holdSyncs(bool hold) {
    {
      std::lock_guard lock(holdMu());
      held() = hold;
    }
    holdCv().notify_all();
  }
  // Syncs of targeted files fail (SQLITE_IOERR_FSYNC) while set; writes still succeed.
  static void failSyncs(bool fail) { failSyncs_().store(fail); }
  static int syncsWaiting() {
    std::lock_guard lock(holdMu());
    return waiting();
  }

 private:
  struct File {
    sqlite3_file base;      // pMethods = our methods
    bool targeted;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static sqlite3_vfs*& base() { static sqlite3_vfs* b = nullptr; return b; }
  static sqlite3_vfs& vfs() { static sqlite3_vfs v; return v; }
  static std::mutex& targetMu() { static std::mutex m; return m; }
  static std::string& target() { static std::string t; return t; }
  static std::atomic<Mode>& mode_() { static std::atomic<Mode> m{Mode::kOff}; return m; }
  static std::atomic<int>& oneIn_() { static std::atomic<int> n{4}; return n; }
  static std::atomic<int64_t>& injected_() { static std::atomic<int64_t> n{0}; return n; }
  static std::mutex& holdMu() { static std::mutex m; return m; }
  static std::condition_variable& holdCv() { static std::condition_variable cv; return cv; }
  static bool& held() { static bool h = false; return h; }
  static std::atomic<bool>& failSyncs_() { static std::atomic<bool> f{false}; return f; }
  static int& waiting() { static int n = 0; return n; }

  static bool fault(sqlite3_file* f) {
    if (!reinterpret_cast<File*>(f)->targeted) return false;
    Mode m = mode_().load();
    if (m == Mode::kOff) return false;
    if (m == Mode::kRandom) {
      static thread_local std::mt19937 rng{std::random_device{}()};
      if (rng() % static_cast<unsigned>(oneIn_().load()) != 0) return false;
    }
    ++injected_();
    return true;
  }
  static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real(); }

  static int xClose(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
  static int xRead(sqlite3_file* f, void* p, int n, sqlite3_int64 o) { return real(f)->pMethods->xRead(real(f), p, n, o); }
  static int xWrite(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
    if (fault(f)) return SQLITE_IOERR_WRITE;
    return real(f)->pMethods->xWrite(real(f), p, n, o);
  }
  static int xTruncate(sqlite3_file* f, sqlite3_int64 size) {
    if (fault(f)) return SQLITE_IOERR_TRUNCATE;
    return real(f)->pMethods->xTruncate(real(f), size);
  }
  static int xSync(sqlite3_file* f, int flags) {
    if (reinterpret_cast<File*>(f)->targeted) {
      std::unique_lock lock(holdMu());
      ++waiting();
      holdCv().wait(lock, [] { return !held(); });
      --waiting();
      if (failSyncs_().load()) {
        ++injected_();
        return SQLITE_IOERR_FSYNC;
      }
    }
    if (fault(f)) return SQLITE_IOERR_FSYNC;
    return real(f)->pMethods->xSync(real(f), flags);
  }
  static int xFileSize(sqlite3_file* f, sqlite3_int64* s) { return real(f)->pMethods->xFileSize(real(f), s); }
  static int xLock(sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); }
  static int xUnlock(sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); }
  static int xCheckReservedLock(sqlite3_file* f, int* r) { return real(f)->pMethods->xCheckReservedLock(real(f), r); }
  static int xFileControl(sqlite3_file* f, int op, void* a) { return real(f)->pMethods->xFileControl(real(f), op, a); }
  static int xSectorSize(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
  static int xDeviceCharacteristics(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
  static int xShmMap(sqlite3_file* f, int i, int sz, int ext, void volatile** pp) {
    return real(f)->pMethods->xShmMap(real(f), i, sz, ext, pp);
  }
  static int xShmLock(sqlite3_file* f, int off, int n, int flags) { return real(f)->pMethods->xShmLock(real(f), off, n, flags); }
  static void xShmBarrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
  static int xShmUnmap(sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); }
  static int xFetch(sqlite3_file* f, sqlite3_int64 o, int n, void** pp) { return real(f)->pMethods->xFetch(real(f), o, n, pp); }
  static int xUnfetch(sqlite3_file* f, sqlite3_int64 o, void* p) { return real(f)->pMethods->xUnfetch(real(f), o, p); }

  static const sqlite3_io_methods* methods(int version) {
    static const sqlite3_io_methods m[4] = {
        {1, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock,
         xFileControl, xSectorSize, xDeviceCharacteristics, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr},
        {1, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock,
         xFileControl, xSectorSize, xDeviceCharacteristics, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr},
        {2, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock,
         xFileControl, xSectorSize, xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier, xShmUnmap, nullptr, nullptr},
        {3, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock,
         xFileControl, xSectorSize, xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier, xShmUnmap, xFetch, xUnfetch},
    };
    return &m[version < 1 ? 1 : (version > 3 ? 3 : version)];
  }

  static int xOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* outFlags) {
    File* file = reinterpret_cast<File*>(f);
    file->base.pMethods = nullptr;
    {
      std::lock_guard lock(targetMu());
      file->targeted = name != nullptr && std::strstr(name, target().c_str()) != nullptr;
    }
    int rc = base()->xOpen(base(), name, file->real(), flags, outFlags);
    if (rc == SQLITE_OK && file->real()->pMethods)
      file->base.pMethods = methods(file->real()->pMethods->iVersion);
    return rc;
  }
};

}  // namespace tether::testing::torture
