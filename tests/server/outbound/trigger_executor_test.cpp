// Tests for outbound/command_runner.h and outbound/trigger_executor.h: the command target's
// process hygiene (no inherited descriptors or environment, killed and reaped at the deadline,
// capped output), the executor's bound (a full queue is refused as throttled at once), and the
// detailed outcome the user-pool triggers read (which failure, the function's error body).
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
#include <future>
#include <mutex>

#include "loopback_http_server.h"

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

// invokeDetailed(): one call's whole outcome, and invoke() still reports it as before. (Every
// command reads its stdin: this binary, unlike tetherd, does not ignore SIGPIPE.)
TriggerOutcome detailed(TriggerExecutor& executor, const std::string& arn) {
  std::promise<TriggerOutcome> p;
  executor.invokeDetailed(arn, "{\"x\":1}", [&](TriggerOutcome o) { p.set_value(std::move(o)); });
  return p.get_future().get();
}

Status plain(TriggerExecutor& executor, const std::string& arn) {
  std::promise<Status> p;
  executor.invoke(arn, "{\"x\":1}", [&](Result<std::string> r) { p.set_value(r.status()); });
  return p.get_future().get();
}

SyncTriggerConfig commandTarget(const std::string& name, const std::string& script, int timeoutMs = 5000) {
  SyncTriggerConfig t;
  t.function = "arn:aws:lambda:us-east-1:1:function:" + name;
  t.command = {"/bin/sh", "-c", script};
  t.timeoutMs = timeoutMs;
  return t;
}

TEST(TriggerExecutorTest, DetailedOutcomeOfACommand) {
  using Kind = TriggerOutcome::Kind;
  TriggerExecutor executor({commandTarget("echo", "cat"),
                            commandTarget("fail", "cat >/dev/null; echo '{\"errorMessage\":\"no\"}'; echo why >&2; exit 3"),
                            commandTarget("throttle", "cat >/dev/null; exit 75"),
                            commandTarget("slow", "cat >/dev/null; sleep 5", 200),
                            commandTarget("killed", "cat >/dev/null; kill -9 $$")});
  TriggerOutcome o = detailed(executor, "arn:aws:lambda:us-east-1:1:function:echo");
  EXPECT_EQ(o.kind, Kind::kReply);
  EXPECT_EQ(o.body, "{\"x\":1}");
  EXPECT_TRUE(o.status.isOk());
  EXPECT_FALSE(o.fromWebhook);

  o = detailed(executor, "arn:aws:lambda:us-east-1:1:function:fail");
  EXPECT_EQ(o.kind, Kind::kFunctionError);
  EXPECT_EQ(o.code, 3);
  EXPECT_EQ(o.body, "{\"errorMessage\":\"no\"}\n");
  EXPECT_EQ(o.errorText, "why\n");
  Status s = plain(executor, "arn:aws:lambda:us-east-1:1:function:fail");
  EXPECT_EQ(s.code(), StatusCode::kTriggerFailed);
  EXPECT_EQ(s.message(), "The sync trigger failed (exit status 3).");

  EXPECT_EQ(detailed(executor, "arn:aws:lambda:us-east-1:1:function:throttle").kind, Kind::kThrottled);
  EXPECT_EQ(plain(executor, "arn:aws:lambda:us-east-1:1:function:throttle").code(), StatusCode::kTriggerThrottled);
  EXPECT_EQ(detailed(executor, "arn:aws:lambda:us-east-1:1:function:slow").kind, Kind::kTimeout);
  EXPECT_EQ(detailed(executor, "arn:aws:lambda:us-east-1:1:function:killed").kind, Kind::kFunctionError);
  EXPECT_EQ(detailed(executor, "arn:aws:lambda:us-east-1:1:function:nope").kind, Kind::kNoTarget);
}

TEST(TriggerExecutorTest, DetailedOutcomeOfAWebhook) {
  using Kind = TriggerOutcome::Kind;
  testing::LoopbackHttpServer server;
  server.setHandler([](const testing::LoopbackRequest& req) {
    if (req.target == "/error") return testing::LoopbackReply{400, {}, "{\"errorMessage\":\"refused\"}"};
    return testing::LoopbackReply{200, {}, req.body};
  });
  SyncTriggerConfig ok, error, down;
  ok.function = "arn:aws:lambda:us-east-1:1:function:ok";
  ok.url = server.url() + "/ok";
  error.function = "arn:aws:lambda:us-east-1:1:function:error";
  error.url = server.url() + "/error";
  down.function = "arn:aws:lambda:us-east-1:1:function:down";
  down.url = "http://127.0.0.1:1/";
  TriggerExecutor executor({ok, error, down});
  TriggerOutcome o = detailed(executor, ok.function);
  EXPECT_EQ(o.kind, Kind::kReply);
  EXPECT_EQ(o.body, "{\"x\":1}");
  EXPECT_TRUE(o.fromWebhook);
  o = detailed(executor, error.function);
  EXPECT_EQ(o.kind, Kind::kFunctionError);
  EXPECT_EQ(o.code, 400);
  EXPECT_EQ(o.body, "{\"errorMessage\":\"refused\"}");
  EXPECT_TRUE(o.fromWebhook);
  EXPECT_EQ(plain(executor, error.function).message(), "The sync trigger failed (HTTP 400).");
  EXPECT_EQ(detailed(executor, down.function).kind, Kind::kUnreachable);
}

}  // namespace
}  // namespace tether::server::outbound
