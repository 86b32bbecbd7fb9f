// FuzzInput: reads typed values off a fuzz input, for structure-aware targets (the idea of
// LLVM's FuzzedDataProvider, kept here so the same target sources also build with gcc for the
// corpus replays in `make test`). Reading past the end yields zeros and empty strings, never
// an error, so every input is a valid program for a target.
//
// Encodings are chosen to mutate well: a string is a length byte then that many bytes (a
// mutation of one byte changes one field, not the framing of all that follow); pick() takes one
// byte, so seeds built from vocabulary keep their meaning under mutation.
// Thread-safety: none (one per input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tether::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : p_(data), n_(size) {}

  bool empty() const { return n_ == 0; }
  size_t remaining() const { return n_; }

  uint8_t byte() {
    if (n_ == 0) return 0;
    uint8_t b = *p_;
    ++p_;
    --n_;
    return b;
  }
  bool boolean() { return (byte() & 1) != 0; }

  // sizeof(T) bytes, little-endian; missing bytes are zero.
  template <class T>
  T integral() {
    static_assert(std::is_integral_v<T>);
    using U = std::make_unsigned_t<T>;
    U v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<U>(static_cast<U>(byte()) << (8 * i));
    return static_cast<T>(v);
  }

  // An integer in [lo, hi] from as few bytes as the range needs.
  template <class T>
  T range(T lo, T hi) {
    using U = std::make_unsigned_t<T>;
    U span = static_cast<U>(static_cast<U>(hi) - static_cast<U>(lo));
    U v = 0;
    for (U s = span; s != 0; s = static_cast<U>(s >> 8)) v = static_cast<U>((v << 8) | byte());
    if (span != std::numeric_limits<U>::max()) v = static_cast<U>(v % (span + 1));
    return static_cast<T>(static_cast<U>(lo) + v);
  }

  // Mostly values that sit on the edges integer checks care about, sometimes any value.
  int64_t int64() {
    static constexpr int64_t kEdges[] = {0, 1, -1, 2, 5, 100, 1024, 1025, 1'700'000'000'000,
                                         std::numeric_limits<int64_t>::max(),
                                         std::numeric_limits<int64_t>::min(),
                                         std::numeric_limits<int32_t>::max(),
                                         static_cast<int64_t>(std::numeric_limits<uint32_t>::max()) + 1};
    uint8_t sel = byte();
    if (sel < 128) return kEdges[sel % std::size(kEdges)];
    if (sel < 192) return static_cast<int64_t>(byte());
    return integral<int64_t>();
  }
  uint32_t uint32() {
    uint8_t sel = byte();
    if (sel < 128) return sel % 4 == 0 ? 0u : sel % 4 == 1 ? 1u : sel % 4 == 2 ? 1024u : 0xffffffffu;
    if (sel < 192) return byte();
    return integral<uint32_t>();
  }

  // A length byte, then up to that many bytes (fewer at the end of the input).
  std::string bytes(size_t maxLen = 255) {
    size_t len = byte();
    if (len == 255) len = integral<uint16_t>();
    if (len > maxLen) len = maxLen;
    if (len > n_) len = n_;
    std::string s(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return s;
  }

  // One of `choices` (chosen by one byte) most of the time, else free bytes: structure-aware
  // inputs stay on the paths behind validation, and the odd free string tests the validation.
  std::string pick(const std::vector<std::string>& choices, size_t maxLen = 255) {
    uint8_t sel = byte();
    if (!choices.empty() && sel < 224) return choices[sel % choices.size()];
    return bytes(maxLen);
  }

  // Always one of `choices` (non-empty).
  const std::string& choose(const std::vector<std::string>& choices) { return choices[byte() % choices.size()]; }

  // Everything left.
  std::string rest() {
    std::string s(reinterpret_cast<const char*>(p_), n_);
    p_ += n_;
    n_ = 0;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

// Splits an input into chunks at a 4-byte separator (the convention of the sequence targets:
// one chunk per frame or request, so seeds are easy to write and a mutation that breaks one
// chunk leaves the others alone). At most `maxChunks`.
inline std::vector<std::string_view> splitChunks(const uint8_t* data, size_t size, size_t maxChunks = 64) {
  static constexpr char kSep[] = "\xF0\x9F\x94\x80";  // U+1F500, rare in real inputs
  std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> out;
  while (out.size() + 1 < maxChunks) {
    size_t at = all.find(std::string_view(kSep, 4));
    if (at == std::string_view::npos) break;
    out.push_back(all.substr(0, at));
    all.remove_prefix(at + 4);
  }
  out.push_back(all);
  return out;
}
inline constexpr std::string_view kChunkSeparator{"\xF0\x9F\x94\x80", 4};

}  // namespace tether::fuzz

// A property a target checks on every input (e.g. a decoded frame re-encodes to the same
// bytes). Aborts, so libFuzzer records the input and the replay test fails.
#include <cstdio>
#include <cstdlib>
#define TETHER_FUZZ_CHECK(cond, detail)                                                          \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "fuzz check failed at %s:%d: %s: %s\n", __FILE__, __LINE__, #cond,   \
                   std::string(detail).c_str());                                                 \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

// Seed making: when TETHER_FUZZ_SEED_OUT names a directory, targets that build structured
// inputs also write the raw form of what they built there (e.g. the codec target writes the
// frames it encoded as raw-mode inputs), so a corpus of valid raw inputs can be made by
// replaying structured seeds. Off (and free) otherwise.
#include <fstream>
#include <functional>
namespace tether::fuzz {
inline void dumpSeed(std::string_view bytes) {
  static const char* dir = std::getenv("TETHER_FUZZ_SEED_OUT");
  if (dir == nullptr) return;
  std::string name = std::string(dir) + "/seed-" + std::to_string(std::hash<std::string_view>{}(bytes));
  std::ofstream(name, std::ios::binary) << bytes;
}
}  // namespace tether::fuzz
