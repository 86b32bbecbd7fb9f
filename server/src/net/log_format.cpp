// Log line formatters; see log_format.h.
#include "net/log_format.h"

#include <ctime>
#include <string>
#include <string_view>

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>

#include "common/request_context.h"

namespace tether::server {
namespace {

void append(spdlog::memory_buf_t& dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

// `s` as a JSON string body: quotes, backslashes and control characters escaped. Bytes that
// are not valid UTF-8 pass through (the log's readers replace them).
void appendJsonEscaped(spdlog::memory_buf_t& dest, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  for (char c : s) {
    switch (c) {
      case '"': append(dest, "\\\""); break;
      case '\\': append(dest, "\\\\"); break;
      case '\n': append(dest, "\\n"); break;
      case '\r': append(dest, "\\r"); break;
      case '\t': append(dest, "\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char u[7] = {'\\', 'u', '0', '0', hex[(c >> 4) & 0xf], hex[c & 0xf], 0};
          append(dest, u);
        } else {
          dest.push_back(c);
        }
    }
  }
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto since = msg.time.time_since_epoch();
    const std::time_t secs = duration_cast<seconds>(since).count();
    const int ms = static_cast<int>(duration_cast<milliseconds>(since).count() % 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[40];
    size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof ts - n, ".%03dZ", ms < 0 ? 0 : ms);
    append(dest, "{\"ts\":\"");
    append(dest, ts);
    append(dest, "\",\"level\":\"");
    auto level = spdlog::level::to_string_view(msg.level);
    append(dest, std::string_view(level.data(), level.size()));
    append(dest, "\",\"logger\":\"");
    appendJsonEscaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    append(dest, "\",\"msg\":\"");
    appendJsonEscaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    append(dest, "\",\"thread\":");
    append(dest, std::to_string(msg.thread_id));
    if (const std::string& id = currentRequestId(); !id.empty()) {
      append(dest, ",\"request_id\":\"");
      appendJsonEscaped(dest, id);
      append(dest, "\"");
    }
    append(dest, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// " request_id=<id>" after the text line's message while a request is handled.
class RequestIdFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    if (const std::string& id = currentRequestId(); !id.empty()) {
      append(dest, " request_id=");
      append(dest, id);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<RequestIdFlag>(); }
};

}  // namespace

std::unique_ptr<spdlog::formatter> makeLogFormatter(LogFormat format) {
  if (format == LogFormat::kJson) return std::make_unique<JsonFormatter>();
  auto text = std::make_unique<spdlog::pattern_formatter>();
  text->add_flag<RequestIdFlag>('*').set_pattern("ts=%Y-%m-%dT%H:%M:%S.%e%z level=%l msg=\"%v\"%*");
  return text;
}

}  // namespace tether::server
