// Runs a sync-trigger command; see command_runner.h.
#include "outbound/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tether::server::outbound {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool makePipe(Fd& readEnd, Fd& writeEnd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  readEnd.fd = fds[0];
  writeEnd.fd = fds[1];
  return true;
}

void setNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

CommandResult runCommand(const std::vector<std::string>& argv, const std::string& input,
                         std::chrono::milliseconds timeout, size_t maxStdout, size_t maxStderr) {
  CommandResult result;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + timeout;
  if (argv.empty()) {
    result.error = "empty command";
    return result;
  }
  Fd inR, inW, outR, outW, errR, errW;
  if (!makePipe(inR, inW) || !makePipe(outR, outW) || !makePipe(errR, errW)) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, inR.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, outW.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, errW.fd, 2);
  // Every other descriptor (sockets, the database, other triggers' pipes) stays in tetherd, even
  // one opened by another thread without O_CLOEXEC.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  // A minimal environment, not tetherd's: that may hold database credentials (PGPASSWORD).
  char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
  char lang[] = "LANG=C.UTF-8";
  char* env[] = {path, lang, nullptr};
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), env);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    result.error = argv[0] + ": " + std::strerror(rc);
    return result;
  }
  inR.reset();
  outW.reset();
  errW.reset();
  setNonBlocking(inW.fd);
  setNonBlocking(outR.fd);
  setNonBlocking(errR.fd);

  size_t written = 0;
  if (input.empty()) inW.reset();
  bool killed = false;
  char buf[65536];
  while (outR.fd >= 0 || errR.fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.outcome = CommandResult::Outcome::kTimeout;
      killed = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int inIdx = -1, outIdx = -1, errIdx = -1;
    if (inW.fd >= 0) { inIdx = n; fds[n++] = {inW.fd, POLLOUT, 0}; }
    if (outR.fd >= 0) { outIdx = n; fds[n++] = {outR.fd, POLLIN, 0}; }
    if (errR.fd >= 0) { errIdx = n; fds[n++] = {errR.fd, POLLIN, 0}; }
    const int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(left));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    if (inIdx >= 0 && fds[inIdx].revents != 0) {
      // A child that exits (or closes stdin) without reading it all: EPIPE, not a signal
      // (tetherd ignores SIGPIPE); what it did read is its business.
      const ssize_t w = ::write(inW.fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) inW.reset();
    }
    if (outIdx >= 0 && fds[outIdx].revents != 0) {
      const ssize_t r = ::read(outR.fd, buf, sizeof buf);
      if (r > 0) {
        // The whole cap at once (backed by the system only as bytes arrive): growing by
        // doubling would copy a large reply and briefly hold 1.5 times it.
        if (result.out.empty()) result.out.reserve(maxStdout);
        if (result.out.size() + static_cast<size_t>(r) > maxStdout) {
          result.outcome = CommandResult::Outcome::kTooLarge;
          killed = true;
          break;
        }
        result.out.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        outR.reset();
      }
    }
    if (errIdx >= 0 && fds[errIdx].revents != 0) {
      const ssize_t r = ::read(errR.fd, buf, sizeof buf);
      if (r > 0) {
        if (result.err.size() < maxStderr)
          result.err.append(buf, std::min(static_cast<size_t>(r), maxStderr - result.err.size()));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        errR.reset();
      }
    }
  }
  inW.reset();
  outR.reset();
  errR.reset();
  if (killed) ::kill(-pid, SIGKILL);  // the group: a script's own children go too
  // Both output pipes are closed by the child here, so it has exited or is about to; once killed
  // it dies at once. Either way this wait is short, and it reaps (no zombie).
  int status = 0;
  while (true) {
    const pid_t w = ::waitpid(pid, &status, killed ? 0 : WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (w == 0) {
      // Closed its output but has not exited yet: give it until the deadline, then kill.
      if (Clock::now() >= deadline) {
        ::kill(-pid, SIGKILL);
        killed = true;
        result.outcome = CommandResult::Outcome::kTimeout;
      } else {
        ::usleep(1000);
      }
    }
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  if (killed) {
    result.out.clear();
    return result;
  }
  if (WIFEXITED(status)) {
    result.outcome = CommandResult::Outcome::kExited;
    result.exitCode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.outcome = CommandResult::Outcome::kSignaled;
    result.exitCode = WTERMSIG(status);
    result.out.clear();
  }
  return result;
}

}  // namespace tether::server::outbound
