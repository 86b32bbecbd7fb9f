// runProcess / spawnProcess: run a program for a test, capture its output, wait with a deadline.
// Used by the examples smoke tests and the client integration tests (the tether CLI as a device).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tether::client::testing {

struct ProcessResult {
  int exitCode = -1;   // -1: killed by a signal or timed out
  std::string out, err;
};

// Starts `argv` with stdout/stderr redirected to files; returns the pid (or -1).
inline pid_t spawnProcess(const std::vector<std::string>& argv, const std::string& outFile,
                          const std::string& errFile) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int o = ::open(outFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int e = ::open(errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (o >= 0) dup2(o, 1);
  if (e >= 0) dup2(e, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

// Waits for `pid` until the deadline; kills it (SIGKILL) when the deadline passes.
inline int waitProcess(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child, not a race
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline ProcessResult runProcess(const std::vector<std::string>& argv, const std::string& scratchDir,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  static int seq = 0;
  std::string base = scratchDir + "/proc" + std::to_string(getpid()) + "_" + std::to_string(++seq);
  ProcessResult r;
  pid_t pid = spawnProcess(argv, base + ".out", base + ".err");
  if (pid < 0) return r;
  r.exitCode = waitProcess(pid, timeout);
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}

inline std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

}  // namespace tether::client::testing
