// Smoke tests of the examples (suite 'examples'): each runs and behaves as documented, offline
// (an unreachable server) here; the client-integration suite runs them against a real tetherd.
#include <gtest/gtest.h>

#include "process_util.h"
#include "test_util.h"

namespace tether::client::testing {
namespace {

constexpr const char* kPool = "local:11111111-2222-3333-4444-555555555555";
constexpr const char* kNoServer = "ws://127.0.0.1:1";  // refused at once

class ExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = makeTempDir("examples"); }
  ProcessResult cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {envOr("TETHER_CLI_BIN", "tether"), "--server", kNoServer,
                                     "--pool", kPool, "--cache", dir_ + "/cli.db"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv, dir_);
  }
  std::string dir_;
};

TEST_F(ExamplesTest, CliHelp) {
  auto r = runProcess({envOr("TETHER_CLI_BIN", "tether"), "--help"}, dir_);
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("whoami"), std::string::npos);
  EXPECT_NE(r.out.find("--conflict"), std::string::npos);
}

TEST_F(ExamplesTest, CliUsageErrors) {
  EXPECT_EQ(runProcess({envOr("TETHER_CLI_BIN", "tether"), "put"}, dir_).exitCode, 2);
  EXPECT_EQ(cli({"sync"}).exitCode, 2);
  EXPECT_EQ(cli({"--conflict", "bogus", "sync", "x"}).exitCode, 2);
  EXPECT_EQ(cli({"watch"}).exitCode, 2);  // needs at least one dataset
  auto badWatch = cli({"watch", "prefs", "bad name!"});  // refused before watching: no hang
  EXPECT_EQ(badWatch.exitCode, 1);
  EXPECT_NE(badWatch.err.find("InvalidArgument"), std::string::npos) << badWatch.err;
}

TEST_F(ExamplesTest, CliWorksOfflineLocally) {
  EXPECT_EQ(cli({"put", "prefs", "theme", "dark"}).exitCode, 0);
  EXPECT_EQ(cli({"put", "prefs", "lang", "en"}).exitCode, 0);
  auto g = cli({"get", "prefs", "theme"});
  EXPECT_EQ(g.exitCode, 0);
  EXPECT_EQ(g.out, "dark\n");
  EXPECT_EQ(cli({"rm", "prefs", "lang"}).exitCode, 0);
  auto ls = cli({"ls", "prefs"});
  EXPECT_EQ(ls.exitCode, 0);
  EXPECT_EQ(ls.out, "theme=dark\n");
  auto missing = cli({"get", "prefs", "lang"});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.err.find("NotFound"), std::string::npos);
  // Bad input: a one-line reason, nothing written.
  auto bad = cli({"put", "bad name!", "k", "v"});
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1);
  EXPECT_NE(bad.err.find("InvalidArgument"), std::string::npos);
  // Offline sync: retryable exit code 3, local data untouched.
  auto s = cli({"sync", "prefs"});
  EXPECT_EQ(s.exitCode, 3) << s.err;
  EXPECT_NE(s.err.find("Unavailable"), std::string::npos);
  EXPECT_EQ(cli({"get", "prefs", "theme"}).out, "dark\n");
  auto who = cli({"whoami"});
  EXPECT_EQ(who.exitCode, 3);
  auto ds = cli({"datasets"});
  EXPECT_EQ(ds.exitCode, 0);
  EXPECT_NE(ds.out.find("prefs"), std::string::npos);
}

TEST_F(ExamplesTest, CExampleOffline) {
  auto r = runProcess({envOr("TETHER_C_EXAMPLE_BIN", "c_example"), kNoServer, kPool, dir_ + "/c.db"}, dir_);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("theme=dark (local)"), std::string::npos);
  EXPECT_NE(r.out.find("offline"), std::string::npos);
  EXPECT_NE(r.out.find("(not yet synced)"), std::string::npos);
  auto strict = runProcess({envOr("TETHER_C_EXAMPLE_BIN", "c_example"), kNoServer, kPool, dir_ + "/c.db",
                            "--require-sync"}, dir_);
  EXPECT_EQ(strict.exitCode, 1);
}

TEST_F(ExamplesTest, QuickstartOffline) {
  auto r = runProcess({envOr("TETHER_QUICKSTART_BIN", "quickstart"), kNoServer, kPool, dir_ + "/q.db"}, dir_);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("offline"), std::string::npos);
  EXPECT_NE(r.out.find("theme = dark"), std::string::npos);
}

}  // namespace
}  // namespace tether::client::testing
