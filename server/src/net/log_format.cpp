// Log line formatters; see log_format.h.
#include "net/log_format.h"

#include <ctime>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>

#include "common/request_context.h"

namespace tether::server {
namespace {

void append(spdlog::memory_buf_t& dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

// `s` as a JSON string (quoted and escaped by nlohmann::json). Bytes that are not valid UTF-8
// become U+FFFD, so every line stays valid JSON whatever a message echoes.
void appendJsonString(spdlog::memory_buf_t& dest, std::string_view s) {
  append(dest, nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
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
    append(dest, "\",\"logger\":");
    appendJsonString(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    append(dest, ",\"msg\":");
    appendJsonString(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    append(dest, ",\"thread\":");
    append(dest, std::to_string(msg.thread_id));
    if (const std::string& id = currentRequestId(); !id.empty()) {
      append(dest, ",\"request_id\":");
      appendJsonString(dest, id);
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
