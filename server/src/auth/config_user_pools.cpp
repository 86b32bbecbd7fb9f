// [user_pools] parsing; see config_user_pools.h.
#include "auth/config_user_pools_internal.h"

#include <algorithm>
#include <set>

#include "auth/config_triggers.h"

namespace tether::server {
namespace {

std::string where(std::string_view source, const toml::node& at) {
  const toml::source_region& r = at.source();
  return std::string(source) + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column) + ": ";
}

bool validRegion(std::string_view r) {
  return !r.empty() && r.size() <= 32 &&
         std::all_of(r.begin(), r.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

bool httpUrl(std::string_view u) { return u.starts_with("https://") || u.starts_with("http://"); }

}  // namespace

Status parseUserPoolsConfig(const toml::node& node, std::string_view source, const std::filesystem::path& baseDir,
                            UserPoolsConfig& out) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return Status::invalidArgument(where(source, node) + "user_pools must be a table ([user_pools])");
  for (auto&& [key, value] : *t) {
    const std::string name(key.str());
    const std::string path = "user_pools." + name;
    static const std::set<std::string> kBool = {"aws_issuer", "dev_codes"};
    static const std::set<std::string> kString = {"region", "account_id", "issuer", "hosted_ui_url", "code_delivery",
                                                  "key_dir"};
    if (kBool.count(name)) {
      const auto* b = value.as_boolean();
      if (b == nullptr) return Status::invalidArgument(where(source, value) + path + " must be true or false");
      (name == "aws_issuer" ? out.awsIssuer : out.devCodes) = b->get();
      continue;
    }
    if (!kString.count(name))
      return Status::invalidArgument(where(source, value) + "unknown key '" + path +
                                     "' (check the spelling; see docs/config.md)");
    const auto* s = value.as_string();
    if (s == nullptr || s->get().empty())
      return Status::invalidArgument(where(source, value) + path + " must be a non-empty string");
    std::string v = s->get();
    if (name == "region") {
      if (!validRegion(v)) return Status::invalidArgument(where(source, value) + path + " must be 1-32 of [A-Za-z0-9-]");
      out.region = v;
    } else if (name == "account_id") {
      if (v.size() != 12 || v.find_first_not_of("0123456789") != std::string::npos)
        return Status::invalidArgument(where(source, value) + path + " must be 12 digits");
      out.accountId = v;
    } else if (name == "issuer" || name == "hosted_ui_url") {
      if (!httpUrl(v)) return Status::invalidArgument(where(source, value) + path + " must be an http:// or https:// URL");
      while (!v.empty() && v.back() == '/') v.pop_back();
      (name == "issuer" ? out.issuer : out.hostedUiUrl) = v;
    } else if (name == "code_delivery") {
      Status ok = validateFunctionArn(v);
      if (!ok.isOk()) return Status::invalidArgument(where(source, value) + path + ": " + ok.message());
      out.codeDelivery = v;
    } else if (name == "key_dir") {
      out.keyDir = baseDir / v;
    }
  }
  return Status::ok();
}

}  // namespace tether::server
