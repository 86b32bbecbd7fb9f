// Corpus replay for `make test`: the same fuzz target source, built with the normal compiler and
// linked with this main instead of libFuzzer, calls LLVMFuzzerTestOneInput once per file of the
// committed seed corpus and crash reproducers. In the ASan+UBSan build of CI any memory error,
// leak or UB report on one of them fails the test; in every build a crash or a failed check in
// the target does.
//
//   <target>_replay [gtest flags] --corpus=DIR [--crashes=DIR] [--campaign=DIR --campaign-max=N]
//
// One gtest case per directory (FuzzReplay.corpus, FuzzReplay.crashes, FuzzReplay.campaign), so
// a run counts as a result per target and kind. The campaign corpus (tests/fuzz/campaign-corpus/,
// what `make fuzz` campaigns kept, minimized) can hold thousands of inputs: only a slice of at
// most N of them is replayed, evenly spread over the sorted file names (every k-th file), so
// `make test` stays fast while the slice covers the whole corpus's range. The corpus must hold at least one file (an empty or missing corpus
// would make the test pass without testing anything); the crashes directory may be absent (no
// bug found by that target yet: then there is no crashes case).
#include <gtest/gtest.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

// The file being replayed, for the report of a crash (set before each call).
char g_current[4096] = "";

void onFatalSignal(int sig) {
  const char prefix[] = "\nfuzz replay: crashed on input ";
  (void)!write(2, prefix, sizeof prefix - 1);
  (void)!write(2, g_current, strlen(g_current));
  (void)!write(2, "\n", 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

std::vector<std::filesystem::path> filesIn(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// At most `max` of `files`, evenly spread (every k-th, starting with the first); all if max <= 0.
std::vector<std::filesystem::path> slice(std::vector<std::filesystem::path> files, int max) {
  if (max <= 0 || files.size() <= static_cast<size_t>(max)) return files;
  std::vector<std::filesystem::path> out;
  for (int i = 0; i < max; ++i) out.push_back(files[files.size() * static_cast<size_t>(i) / static_cast<size_t>(max)]);
  return out;
}

void replayDir(const std::filesystem::path& dir, bool required, int max = 0) {
  if (!std::filesystem::is_directory(dir)) {
    if (required) {
      FAIL() << "corpus directory missing: " << dir;
    }
    GTEST_SKIP() << "no such directory (nothing to replay): " << dir;
  }
  std::vector<std::filesystem::path> files = slice(filesIn(dir), max);
  if (required) {
    ASSERT_FALSE(files.empty()) << "empty corpus: " << dir;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << f;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    snprintf(g_current, sizeof g_current, "%s", f.c_str());
    // Copied into an exactly-sized heap buffer, as libFuzzer does, so an overread is caught.
    std::vector<uint8_t> buf(bytes.begin(), bytes.end());
    int rc = LLVMFuzzerTestOneInput(buf.empty() ? nullptr : buf.data(), buf.size());
    EXPECT_EQ(rc, 0) << f;
  }
  g_current[0] = '\0';
  ::testing::Test::RecordProperty("inputs", static_cast<int>(files.size()));
  std::printf("replayed %zu inputs from %s\n", files.size(), dir.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string corpus, crashes, campaign;
  int campaignMax = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--corpus=", 0) == 0) corpus = a.substr(9);
    else if (a.rfind("--crashes=", 0) == 0) crashes = a.substr(10);
    else if (a.rfind("--campaign=", 0) == 0) campaign = a.substr(11);
    else if (a.rfind("--campaign-max=", 0) == 0) campaignMax = std::atoi(a.c_str() + 15);
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "usage: %s [gtest flags] --corpus=DIR [--crashes=DIR]\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  signal(SIGSEGV, onFatalSignal);
  signal(SIGABRT, onFatalSignal);
  signal(SIGBUS, onFatalSignal);
  signal(SIGFPE, onFatalSignal);

  ::testing::RegisterTest("FuzzReplay", "corpus", nullptr, nullptr, __FILE__, __LINE__,
                          [corpus]() -> ::testing::Test* {
                            struct T : ::testing::Test {
                              std::string dir;
                              void TestBody() override { replayDir(dir, true); }
                            };
                            auto* t = new T;
                            t->dir = corpus;
                            return t;
                          });
  // No reproducers yet (no bug found by this target): no case, rather than a skipped one.
  if (!crashes.empty() && std::filesystem::is_directory(crashes)) {
    ::testing::RegisterTest("FuzzReplay", "crashes", nullptr, nullptr, __FILE__, __LINE__,
                            [crashes]() -> ::testing::Test* {
                              struct T : ::testing::Test {
                                std::string dir;
                                void TestBody() override { replayDir(dir, false); }
                              };
                              auto* t = new T;
                              t->dir = crashes;
                              return t;
                            });
  }
  // The campaign corpus, when there is one for this target: a bounded slice.
  if (!campaign.empty() && std::filesystem::is_directory(campaign) && !filesIn(campaign).empty()) {
    ::testing::RegisterTest("FuzzReplay", "campaign", nullptr, nullptr, __FILE__, __LINE__,
                            [campaign, campaignMax]() -> ::testing::Test* {
                              struct T : ::testing::Test {
                                std::string dir;
                                int max = 0;
                                void TestBody() override { replayDir(dir, false, max); }
                              };
                              auto* t = new T;
                              t->dir = campaign;
                              t->max = campaignMax;
                              return t;
                            });
  }
  return RUN_ALL_TESTS();
}
