// runCommand: one run of a local program for a sync trigger (docs/events.md "Sync trigger"):
// `input` on its stdin, its stdout returned, within a deadline and a size cap.
//
// No shell and no PATH lookup (argv[0] is an absolute path). The child gets its own process
// group, default signal dispositions and an empty signal mask (tetherd blocks SIGINT/SIGTERM and
// ignores SIGPIPE), and no file descriptor of tetherd but the three pipes
// (posix_spawn_file_actions_addclosefrom_np), and a minimal environment (PATH, LANG) instead of
// tetherd's, which may hold database credentials. At the deadline, or when stdout passes its cap, the
// whole group is killed with SIGKILL; the child is always reaped before this returns: no zombies.
// stderr is kept up to a bound (for the log).
// Thread-safety: reentrant; blocks the calling thread for at most about `timeout`.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace tether::server::outbound {

struct CommandResult {
  enum class Outcome {
    kExited,     // ran to the end: see exitCode
    kSignaled,   // killed by a signal it did not get from us (exitCode = the signal)
    kTimeout,    // still running at the deadline: killed
    kTooLarge,   // stdout passed maxStdout: killed
    kSpawnFailed,
  };
  Outcome outcome = Outcome::kSpawnFailed;
  int exitCode = -1;
  std::string out;   // stdout (empty unless kExited)
  std::string err;   // the first maxStderr bytes of stderr
  std::string error; // what failed, for kSpawnFailed
  std::chrono::microseconds elapsed{0};
};

CommandResult runCommand(const std::vector<std::string>& argv, const std::string& input,
                         std::chrono::milliseconds timeout, size_t maxStdout, size_t maxStderr = 4096);

}  // namespace tether::server::outbound
