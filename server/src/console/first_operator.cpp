// See first_operator.h.
#include "console/first_operator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "console/password.h"

namespace tether::server::console {

Result<std::optional<std::filesystem::path>> ensureFirstOperator(Store& store, const Clock& clock,
                                                                 const std::filesystem::path& dataDir) {
  TETHER_TRY(std::vector<OperatorRow> operators, store.listOperators());
  if (!operators.empty()) return std::optional<std::filesystem::path>();
  const std::string password = randomPassword(20);
  TETHER_TRY(std::string hash, hashPassword(password));
  // The file first: if it cannot be written, no account exists whose password nobody knows.
  const std::filesystem::path file = dataDir / kFirstOperatorPasswordFile;
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::ioError("cannot write " + file.string() + ": " + std::strerror(errno));
  (void)::fchmod(fd, 0600);  // an existing file keeps its mode on O_CREAT
  const std::string line = password + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return Status::ioError("cannot write " + file.string());
  Status s = store.createOperator({kFirstOperatorName, hash, clock.nowMs(), 0});
  if (s.code() == StatusCode::kConflict) {  // another process on the same directory was first
    std::error_code ec;
    std::filesystem::remove(file, ec);
    return std::optional<std::filesystem::path>();
  }
  TETHER_RETURN_IF_ERROR(s);
  return std::optional<std::filesystem::path>(file);
}

}  // namespace tether::server::console
