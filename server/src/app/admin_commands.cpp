// `tetherd admin create-user | list-users | delete-user | set-password`: the console's operator
// accounts (docs/console.md, "Signing in and operators"), straight on the store (--data-dir or
// --store; SQLite or PostgreSQL). Safe while servers run on the same store: a server reads the
// operator at each sign-in, and a password change or deletion ends the operator's sessions.
// Passwords come from --password-file (its first line) or stdin (first line), never the command
// line (it would show in `ps` and the shell history).
#include <fstream>
#include <iostream>

#include "app/commands.h"
#include "app/open_store.h"
#include "common/clock.h"
#include "console/password.h"

namespace tether::server {
namespace {

int fail(const Status& s, int code = 1) {
  std::cerr << "tetherd: " << s.message() << "\n";
  return code;
}

Result<std::unique_ptr<Store>> openExisting(const std::string& url) {
  TETHER_TRY(OpenedStore opened, openStore(url, OpenMode::kMustExist));
  return std::move(opened.store);
}

// The first line of the file, or of stdin ("" = stdin), without its line end.
Result<std::string> readPassword(const std::string& file) {
  std::string line;
  if (file.empty()) {
    if (!std::getline(std::cin, line)) return Status::invalidArgument("no password on stdin");
  } else {
    std::ifstream in(file);
    if (!in) return Status::invalidArgument("cannot read " + file);
    if (!std::getline(in, line)) return Status::invalidArgument(file + " is empty");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  TETHER_RETURN_IF_ERROR(console::checkPasswordPolicy(line));
  return line;
}

}  // namespace

int runAdminCreateUser(const std::string& storeUrl, const std::string& name, const std::string& passwordFile) {
  if (Status s = console::checkOperatorName(name); !s.isOk()) return fail(s, 2);
  Result<std::string> password = readPassword(passwordFile);
  if (!password.isOk()) return fail(password.status(), 2);
  Result<std::unique_ptr<Store>> store = openExisting(storeUrl);
  if (!store.isOk()) return fail(store.status());
  Result<std::string> hash = console::hashPassword(*password);
  if (!hash.isOk()) return fail(hash.status());
  Status s = (*store)->createOperator(OperatorRow{name, *hash, SystemClock().nowMs(), 0});
  if (s.code() == StatusCode::kConflict) return fail(s, 2);
  if (!s.isOk()) return fail(s);
  std::cout << "created operator " << name << "\n";
  return 0;
}

int runAdminListUsers(const std::string& storeUrl) {
  Result<std::unique_ptr<Store>> store = openExisting(storeUrl);
  if (!store.isOk()) return fail(store.status());
  Result<std::vector<OperatorRow>> ops = (*store)->listOperators();
  if (!ops.isOk()) return fail(ops.status());
  // One line per operator: name, created (epoch ms), last sign-in (epoch ms, 0 = never).
  for (const OperatorRow& o : *ops) std::cout << o.name << "\t" << o.createdMs << "\t" << o.lastSignInMs << "\n";
  return 0;
}

int runAdminDeleteUser(const std::string& storeUrl, const std::string& name) {
  Result<std::unique_ptr<Store>> store = openExisting(storeUrl);
  if (!store.isOk()) return fail(store.status());
  Status s = (*store)->deleteOperator(name);
  if (s.code() == StatusCode::kNotFound) return fail(Status::notFound("no operator " + name), 2);
  if (!s.isOk()) return fail(s);
  std::cout << "deleted operator " << name << "\n";
  return 0;
}

int runAdminSetPassword(const std::string& storeUrl, const std::string& name, const std::string& passwordFile) {
  Result<std::string> password = readPassword(passwordFile);
  if (!password.isOk()) return fail(password.status(), 2);
  Result<std::unique_ptr<Store>> store = openExisting(storeUrl);
  if (!store.isOk()) return fail(store.status());
  Result<std::string> hash = console::hashPassword(*password);
  if (!hash.isOk()) return fail(hash.status());
  Status s = (*store)->setOperatorPassword(name, *hash);
  if (s.code() == StatusCode::kNotFound) return fail(Status::notFound("no operator " + name), 2);
  if (!s.isOk()) return fail(s);
  std::cout << "password changed for " << name << " (its console sessions are ended)\n";
  return 0;
}

}  // namespace tether::server
