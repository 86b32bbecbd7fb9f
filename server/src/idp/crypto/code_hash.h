// CodeHasher: how user-pool codes (sign-up confirmation, forgot-password, attribute
// verification; spec 9.2) are stored: never in the clear, as HMAC-SHA256 under a server key
// that lives outside the database (IdpKeyring::codeHasher()), so a copy of the database alone
// does not let anyone try the 10^6 possible codes offline.
//
// hash = base64url(HMAC-SHA256(key, len(scope) as 4 bytes big-endian || scope || code)), 43
// characters. `scope` binds a code to its use, e.g. "<poolId>|<sub>|ConfirmSignUp", so a hash
// copied to another user or purpose never matches.
// Thread-safety: immutable; every method may run concurrently.
#pragma once

#include <string>
#include <string_view>

namespace tether::server::idp {

class CodeHasher {
 public:
  static constexpr size_t kMinKeyBytes = 32;
  // REQUIRES: key.size() >= kMinKeyBytes.
  explicit CodeHasher(std::string key);
  ~CodeHasher();
  CodeHasher(const CodeHasher&) = delete;
  CodeHasher& operator=(const CodeHasher&) = delete;

  std::string hash(std::string_view scope, std::string_view code) const;
  // Whether `storedHash` is hash(scope, code); constant time in the contents.
  bool matches(std::string_view scope, std::string_view code, std::string_view storedHash) const;

 private:
  std::string key_;
};

}  // namespace tether::server::idp
