// Private key files on POSIX: see key_file.h. POSIX calls rather than iostreams so that every
// failure carries errno and file modes are set before any secret byte is written.
#include "auth/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace tether::server::auth {
namespace {

std::string errnoText(int err) { return std::generic_category().message(err); }

Status ioFailure(std::string_view what, const std::filesystem::path& path, int err) {
  return Status::ioError(std::string(what) + " " + path.string() + ": " + errnoText(err));
}

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  int get() const { return fd_; }
  int release() { int fd = fd_; fd_ = -1; return fd; }
 private:
  int fd_;
};

Status writeAll(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ioFailure("cannot write", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

Status fsyncDir(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ioFailure("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return ioFailure("cannot fsync directory", dir, errno);
  return Status::ok();
}

}  // namespace

Status ensurePrivateDir(const std::filesystem::path& dir) {
  std::error_code ec;
  bool created = std::filesystem::create_directories(dir, ec);
  if (ec) return Status::ioError("cannot create directory " + dir.string() + ": " + ec.message());
  // Only a directory we made is tightened: an existing one may be a read-only mount (e.g. a
  // Kubernetes secret volume) whose mode the operator chose.
  if (created && ::chmod(dir.c_str(), 0700) != 0) return ioFailure("cannot chmod", dir, errno);
  return Status::ok();
}

Result<std::optional<std::string>> readSecretFile(const std::filesystem::path& path,
                                                  size_t maxBytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return ioFailure("cannot open", path, errno);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ioFailure("cannot read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > maxBytes)
      return Status::corruption("key file " + path.string() + " is larger than " +
                                std::to_string(maxBytes) + " bytes");
  }
  return std::optional<std::string>(std::move(out));
}

Result<bool> createSecretFile(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path dir = path.parent_path();
  std::error_code ec;
  std::string tmpl = (path.string() + ".tmp.XXXXXX");
  std::vector<char> tmpName(tmpl.begin(), tmpl.end());
  tmpName.push_back('\0');
  // mkstemp creates the file with mode 0600, so the secret is never readable by others.
  Fd fd(::mkostemp(tmpName.data(), O_CLOEXEC));
  if (fd.get() < 0) return ioFailure("cannot create temp file in", dir, errno);
  std::filesystem::path tmpPath(tmpName.data());
  struct Unlinker {
    const std::filesystem::path& p;
    ~Unlinker() { ::unlink(p.c_str()); }  // the temp name goes away in every outcome
  } unlinker{tmpPath};

  if (::fchmod(fd.get(), 0600) != 0) return ioFailure("cannot chmod", tmpPath, errno);
  TETHER_RETURN_IF_ERROR(writeAll(fd.get(), bytes, tmpPath));
  if (::fsync(fd.get()) != 0) return ioFailure("cannot fsync", tmpPath, errno);
  if (::close(fd.release()) != 0) return ioFailure("cannot close", tmpPath, errno);

  if (::link(tmpPath.c_str(), path.c_str()) != 0) {
    int err = errno;
    if (err == EEXIST) return false;
    if (err != EPERM && err != EOPNOTSUPP && err != ENOSYS) return ioFailure("cannot create", path, err);
    // No hard links on this filesystem: fall back to rename. A creator racing us in the instant
    // between the check and the rename could have its file replaced, and would then use a key
    // that is no longer on disk until it restarts; accepted for such filesystems only.
    if (std::filesystem::exists(path, ec)) return false;
    if (::rename(tmpPath.c_str(), path.c_str()) != 0) return ioFailure("cannot create", path, errno);
  }
  TETHER_RETURN_IF_ERROR(fsyncDir(dir.empty() ? std::filesystem::path(".") : dir));
  return true;
}

Result<std::string> loadOrCreateSecretFile(const std::filesystem::path& path, size_t maxBytes,
                                           const std::function<Result<std::string>()>& generate) {
  TETHER_TRY(std::optional<std::string> existing, readSecretFile(path, maxBytes));
  if (existing) return std::move(*existing);
  TETHER_TRY(std::string fresh, generate());
  TETHER_TRY(bool created, createSecretFile(path, fresh));
  if (created) return fresh;
  // Another process created it between our read and our link: use theirs.
  TETHER_TRY(std::optional<std::string> theirs, readSecretFile(path, maxBytes));
  if (!theirs) return Status::ioError("key file " + path.string() + " vanished while opening it");
  return std::move(*theirs);
}

}  // namespace tether::server::auth
