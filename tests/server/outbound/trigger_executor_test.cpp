// Tests for outbound/command_runner.h and outbound/trigger_executor.h: the command target's
// process hygiene (no inherited descriptors or environment, killed and reaped at the deadline,
// capped output) and the executor's bound (a full queue is refused as throttled at once).
#include "outbound/command_runner.h"
#include "outbound/trigger_executor.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>

namespace tether::server::outbound {
namespace {

using namespace std::chrono_literals;
using Outcome = CommandResult::Outcome;

bool noChildLeft() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

TEST(CommandRunnerTest, InputInOutputOutNothingInherited) {
  int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC: must still not reach the child
  ASSERT_GE(leaked, 3);
  std::string big(1 << 20, 'a');
  CommandResult r = runCommand({"/bin/cat"}, big, 5000ms, 2 << 20);
  EXPECT_EQ(r.outcome, Outcome::kExited);
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.out, big);
  r = runCommand({"/bin/sh", "-c", "ls /proc/$$/fd; env"}, "", 5000ms, 1 << 20);
  ::close(leaked);
  ASSERT_EQ(r.outcome, Outcome::kExited);
  EXPECT_EQ(r.out, "0\n1\n2\nPATH=/usr/local/bin:/usr/bin:/bin\nLANG=C.UTF-8\nPWD=" +
                       std::filesystem::current_path().string() + "\n")
      << "only stdin/stdout/stderr and PATH/LANG (the shell adds PWD)";
  EXPECT_TRUE(noChildLeft());
}

TEST(CommandRunnerTest, ExitStatusAndBoundedStderr) {
  CommandResult r = runCommand({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' e >&2; exit 3"}, "", 5000ms,
                               1 << 20, 4096);
  EXPECT_EQ(r.outcome, Outcome::kExited);
  EXPECT_EQ(r.exitCode, 3);
  EXPECT_EQ(r.err, std::string(4096, 'e'));
}

TEST(CommandRunnerTest, DeadlineKillsTheWholeGroupAndReaps) {
  auto t0 = std::chrono::steady_clock::now();
  // A script whose own child also holds stdout: both are killed.
  CommandResult r = runCommand({"/bin/sh", "-c", "sleep 30 & sleep 30"}, "", 300ms, 1 << 20);
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(noChildLeft());
}

TEST(CommandRunnerTest, StdoutCapStopsAnEndlessWriter) {
  CommandResult r = runCommand({"/usr/bin/yes"}, "", 5000ms, 1 << 20);
  EXPECT_EQ(r.outcome, Outcome::kTooLarge);
  EXPECT_TRUE(r.out.empty());
  EXPECT_TRUE(noChildLeft());
}

TEST(CommandRunnerTest, MissingProgramIsASpawnFailure) {
  CommandResult r = runCommand({"/nonexistent/trigger"}, "{}", 1000ms, 1024);
  EXPECT_EQ(r.outcome, Outcome::kSpawnFailed);
  EXPECT_FALSE(r.error.empty());
}

TEST(TriggerExecutorTest, AFullQueueIsThrottledAtOnceAndStopFailsTheRest) {
  SyncTriggerConfig slow;
  slow.function = "arn:aws:lambda:us-east-1:1:function:slow";
  slow.command = {"/bin/sh", "-c", "cat >/dev/null; sleep 1; echo '{}'"};
  slow.timeoutMs = 5000;
  TriggerExecutor executor({slow});
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, throttled = 0, ok = 0, unavailable = 0;
  const int total = kTriggerThreads + kMaxQueuedTriggerCalls + 5;
  for (int i = 0; i < total; ++i) {
    executor.invoke(slow.function, "{}", [&](Result<std::string> r) {
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      if (r.isOk()) ++ok;
      else if (r.status().code() == StatusCode::kTriggerThrottled) ++throttled;
      else if (r.status().code() == StatusCode::kUnavailable) ++unavailable;
      cv.notify_all();
    });
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    // Refused before invoke() returned: everything past the queue, less the calls the threads
    // had already taken off it (at most one each).
    EXPECT_GE(throttled, 5);
    EXPECT_LE(throttled, 5 + kTriggerThreads);
  }
  executor.stop();  // running calls finish; queued ones fail
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return done == total; }));
  EXPECT_EQ(ok + throttled + unavailable, total);  // every call answered exactly once
  EXPECT_NE(executor.metricsText().find("tether_sync_trigger_errors_total{kind=\"throttled\"} " + std::to_string(throttled)),
            std::string::npos);
  EXPECT_TRUE(noChildLeft());
}

TEST(TriggerExecutorTest, UnknownFunctionFailsWithoutACall) {
  TriggerExecutor executor({});
  EXPECT_FALSE(executor.hasTarget("arn:x"));
  Status got;
  executor.invoke("arn:x", "{}", [&](Result<std::string> r) { got = r.status(); });
  EXPECT_EQ(got.code(), StatusCode::kTriggerFailed);
}

}  // namespace
}  // namespace tether::server::outbound
