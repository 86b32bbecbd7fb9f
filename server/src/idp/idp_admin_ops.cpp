// Administrator user operations, ListUsers and its filter, and groups (spec
// cognito-user-pools.md 4.10, 4.11, 2.3); see idp_api.h.
#include "idp/idp_api.h"

#include <algorithm>
#include <regex>

#include "auth/base64url.h"
#include "idp/user_validation.h"

namespace tether::server::idp {
namespace {

constexpr int kMaxQueryLimit = 60;

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

ApiResult<int> queryLimit(const Json& in, const char* name) {
  API_TRY(auto v, cognito::getInt(in, name));
  if (!v || *v == 0) return kMaxQueryLimit;
  if (*v < 0 || *v > kMaxQueryLimit) return validationError("limit", "Member must have value between 0 and 60");
  return static_cast<int>(*v);
}

std::string encodeCursor(const UserCursor& c) {
  return auth::base64UrlEncode(Json{{"c", c.createdMs}, {"s", c.sub}}.dump());
}

ApiResult<UserCursor> decodeCursor(const std::optional<std::string>& token) {
  UserCursor c;
  if (!token || token->empty()) return c;
  std::optional<std::string> raw = auth::base64UrlDecode(*token);
  Json j = raw ? Json::parse(*raw, nullptr, false) : Json();
  if (!j.is_object() || !j.contains("c") || !j.contains("s") || !j["c"].is_number_integer() || !j["s"].is_string())
    return invalidParameter("Invalid pagination token.");
  c.createdMs = j["c"].get<int64_t>();
  c.sub = j["s"].get<std::string>();
  return c;
}

const std::vector<std::string>& statusNames() {
  static const std::vector<std::string> k = {"UNCONFIRMED", "CONFIRMED", "FORCE_CHANGE_PASSWORD", "RESET_REQUIRED"};
  return k;
}

}  // namespace

// The ListUsers Filter grammar (spec 4.11): one condition, `attr = "value"` or `attr ^= "value"`,
// with \" and \\ escapes inside the quotes.
ApiResult<UserFilter> IdpApi::parseUserFilter(const Pool& pool, const std::string& text) {
  UserFilter f;
  auto fail = [] { return invalidParameter("Error while parsing filter."); };
  size_t i = 0;
  auto skipSpace = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skipSpace();
  if (i == text.size()) return f;
  size_t nameStart = i;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' || text[i] == ':')) ++i;
  std::string attr = text.substr(nameStart, i - nameStart);
  skipSpace();
  bool prefix = false;
  if (text.compare(i, 2, "^=") == 0) {
    prefix = true;
    i += 2;
  } else if (i < text.size() && text[i] == '=') {
    i += 1;
  } else {
    return fail();
  }
  skipSpace();
  if (i >= text.size() || text[i] != '"') return fail();
  ++i;
  std::string value;
  bool closed = false;
  while (i < text.size()) {
    char c = text[i++];
    if (c == '\\') {
      if (i >= text.size()) return fail();
      value.push_back(text[i++]);
    } else if (c == '"') {
      closed = true;
      break;
    } else {
      value.push_back(c);
    }
  }
  if (!closed) return fail();
  skipSpace();
  if (i != text.size()) return fail();

  using K = UserFilter::Kind;
  if (attr == "username") {
    f.kind = prefix ? K::kUsernamePrefix : K::kUsernameEquals;
    f.value = usernameKey(pool, value);
  } else if (attr == "sub") {
    f.kind = prefix ? K::kSubPrefix : K::kSubEquals;
    f.value = value;
  } else if (attr == "cognito:user_status" || attr == "status") {
    std::vector<std::string> names = attr == "status" ? std::vector<std::string>{"Enabled", "Disabled"} : statusNames();
    std::string wanted = attr == "status" ? value : upper(value);
    std::vector<std::string> matches;
    for (const std::string& n : names)
      if (prefix ? n.starts_with(wanted) : n == wanted) matches.push_back(n);
    if (matches.size() == names.size()) return UserFilter{};
    f.kind = attr == "status" ? K::kEnabledEquals : K::kStatusEquals;
    if (matches.empty()) {
      f.value = attr == "status" ? "none" : "NO_SUCH_STATUS";  // matches nobody
    } else if (matches.size() == 1) {
      f.value = attr == "status" ? (matches[0] == "Enabled" ? "true" : "false") : matches[0];
    } else {
      return invalidParameter("The status prefix matches several statuses; use an exact status.");
    }
    if (attr == "status" && f.value == "none") {
      f.kind = K::kSubEquals;  // no sub is empty: matches nobody
      f.value = "";
    }
  } else if (attr == "email" || attr == "phone_number" || attr == "name" || attr == "given_name" ||
             attr == "family_name" || attr == "preferred_username") {
    f.kind = prefix ? K::kAttributePrefix : K::kAttributeEquals;
    f.attribute = attr;
    f.value = value;
  } else {
    return invalidParameter("Invalid search attribute: " + attr);
  }
  return f;
}

ApiResult<std::pair<IdpApi::Pool, IdpApi::User>> IdpApi::adminUser(const Json& in) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(auto username, cognito::getString(in, "Username", true));
  if (auto e = checkUsername(*username)) return *e;
  API_TRY(std::optional<User> user, findUser(pool, *username));
  if (!user) return userNotFound();
  return std::make_pair(std::move(pool), std::move(*user));
}

ApiResult<Json> IdpApi::adminGetUser(const Json& in, const Call&) {
  API_TRY(auto pu, adminUser(in));
  const User& user = pu.second;
  Json out = mfaSettings(user);
  out["Username"] = user.row.username;
  out["UserAttributes"] = attributeListJson(user.row.sub, user.row.attributes, {});
  out["UserCreateDate"] = cognito::epochSeconds(user.row.createdMs);
  out["UserLastModifiedDate"] = cognito::epochSeconds(user.row.modifiedMs);
  out["Enabled"] = user.row.enabled;
  out["UserStatus"] = user.row.status;
  return out;
}

ApiResult<Json> IdpApi::adminDeleteUser(const Json& in, const Call&) {
  API_TRY(auto pu, adminUser(in));
  Status s = ctx_.store.deleteUser(pu.first.row.id, pu.second.row.sub);
  if (s.code() == StatusCode::kNotFound) return userNotFound();
  IDP_TRY_STATUS(s);
  return Json::object();
}

ApiResult<Json> IdpApi::adminDisableUser(const Json& in, const Call&) {
  API_TRY(auto pu, adminUser(in));
  API_TRY(User user, updateUser(pu.first, std::move(pu.second), [&](User& u) -> std::optional<ApiError> {
    u.row.enabled = false;
    u.state.revokedBeforeMs = nowMs();  // its refresh tokens stop working (spec 4.10)
    return std::nullopt;
  }));
  (void)user;
  return Json::object();
}

ApiResult<Json> IdpApi::adminEnableUser(const Json& in, const Call&) {
  API_TRY(auto pu, adminUser(in));
  API_TRY(User user, updateUser(pu.first, std::move(pu.second), [&](User& u) -> std::optional<ApiError> {
    u.row.enabled = true;
    return std::nullopt;
  }));
  (void)user;
  return Json::object();
}

ApiResult<Json> IdpApi::listUsers(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(int limit, queryLimit(in, "Limit"));
  API_TRY(auto token, cognito::getString(in, "PaginationToken"));
  API_TRY(auto filterText, cognito::getString(in, "Filter"));
  API_TRY(auto attributesToGet, cognito::getStringList(in, "AttributesToGet"));
  if (filterText && filterText->size() > 256) return validationError("filter", "Member must have length less than or equal to 256");
  API_TRY(UserCursor after, decodeCursor(token));
  API_TRY(UserFilter filter, parseUserFilter(pool, filterText.value_or("")));
  IDP_TRY_RESULT(std::vector<UserRow> rows, ctx_.store.listUsers(pool.row.id, filter, after, limit + 1));
  Json users = Json::array();
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i)
    users.push_back(userType(User{rows[i], UserState{}}, attributesToGet.value_or(std::vector<std::string>())));
  Json out = {{"Users", users}};
  if (rows.size() > static_cast<size_t>(limit))
    out["PaginationToken"] = encodeCursor(UserCursor{rows[limit - 1].createdMs, rows[limit - 1].sub});
  return out;
}

// ---- groups

namespace {

Json groupType(const UserGroupRow& g) {
  Json out = {{"GroupName", g.name}, {"UserPoolId", g.poolId},
              {"CreationDate", cognito::epochSeconds(g.createdMs)},
              {"LastModifiedDate", cognito::epochSeconds(g.modifiedMs)}};
  if (!g.description.empty()) out["Description"] = g.description;
  if (!g.roleArn.empty()) out["RoleArn"] = g.roleArn;
  if (g.precedence) out["Precedence"] = *g.precedence;
  return out;
}

ApiResult<std::string> groupName(const Json& in) {
  API_TRY(auto name, cognito::getString(in, "GroupName", true));
  if (auto e = checkUsername(*name, "groupName")) return *e;
  return *name;
}

// Description, RoleArn and Precedence of Create/UpdateGroup.
std::optional<ApiError> readGroupFields(const Json& in, UserGroupRow& g) {
  ApiResult<std::optional<std::string>> description = cognito::getString(in, "Description");
  if (!description.isOk()) return description.error();
  ApiResult<std::optional<std::string>> role = cognito::getString(in, "RoleArn");
  if (!role.isOk()) return role.error();
  ApiResult<std::optional<int64_t>> precedence = cognito::getInt(in, "Precedence");
  if (!precedence.isOk()) return precedence.error();
  if (*description && (*description)->size() > 2048)
    return validationError("description", "Member must have length less than or equal to 2048");
  if (*role && ((*role)->size() < 20 || (*role)->size() > 2048 || !(*role)->starts_with("arn:")))
    return validationError("roleArn", "Member must satisfy regular expression pattern: arn:[\\w+=/,.@-]+:[\\w+=/,.@-]+:([\\w+=/,.@-]*)?:[0-9]+:[\\w+=/,.@-]+(:[\\w+=/,.@-]+)?(:[\\w+=/,.@-]+)?");
  if (*precedence && (**precedence < 0 || **precedence > 2147483647))
    return validationError("precedence", "Member must have value greater than or equal to 0");
  g.description = description->value_or("");
  g.roleArn = role->value_or("");
  g.precedence = *precedence;
  return std::nullopt;
}

}  // namespace

ApiResult<Json> IdpApi::createGroup(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(std::string name, groupName(in));
  UserGroupRow g;
  g.poolId = pool.row.id;
  g.name = name;
  if (auto e = readGroupFields(in, g)) return *e;
  g.createdMs = g.modifiedMs = nowMs();
  Status s = ctx_.store.createUserGroup(g);
  if (s.code() == StatusCode::kConflict) return idpError("GroupExistsException", "A group with the name " + name + " already exists.");
  IDP_TRY_STATUS(s);
  return Json{{"Group", groupType(g)}};
}

ApiResult<Json> IdpApi::getGroup(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(std::string name, groupName(in));
  IDP_TRY_RESULT(std::optional<UserGroupRow> g, ctx_.store.getUserGroup(pool.row.id, name));
  if (!g) return resourceNotFound("Group not found.");
  return Json{{"Group", groupType(*g)}};
}

ApiResult<Json> IdpApi::updateGroup(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(std::string name, groupName(in));
  IDP_TRY_RESULT(std::optional<UserGroupRow> g, ctx_.store.getUserGroup(pool.row.id, name));
  if (!g) return resourceNotFound("Group not found.");
  UserGroupRow updated = *g;
  if (auto e = readGroupFields(in, updated)) return *e;
  // Update keeps what the request leaves out.
  if (!in.contains("Description")) updated.description = g->description;
  if (!in.contains("RoleArn")) updated.roleArn = g->roleArn;
  if (!in.contains("Precedence")) updated.precedence = g->precedence;
  updated.modifiedMs = nowMs();
  Status s = ctx_.store.updateUserGroup(updated);
  if (s.code() == StatusCode::kNotFound) return resourceNotFound("Group not found.");
  IDP_TRY_STATUS(s);
  return Json{{"Group", groupType(updated)}};
}

ApiResult<Json> IdpApi::deleteGroup(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(std::string name, groupName(in));
  Status s = ctx_.store.deleteUserGroup(pool.row.id, name);
  if (s.code() == StatusCode::kNotFound) return resourceNotFound("Group not found.");
  IDP_TRY_STATUS(s);
  return Json::object();
}

ApiResult<Json> IdpApi::listGroups(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(int limit, queryLimit(in, "Limit"));
  API_TRY(auto next, cognito::getString(in, "NextToken"));
  IDP_TRY_RESULT(std::vector<UserGroupRow> rows, ctx_.store.listUserGroups(pool.row.id, next.value_or(""), limit + 1));
  Json groups = Json::array();
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) groups.push_back(groupType(rows[i]));
  Json out = {{"Groups", groups}};
  if (rows.size() > static_cast<size_t>(limit)) out["NextToken"] = rows[limit - 1].name;
  return out;
}

ApiResult<Json> IdpApi::adminAddUserToGroup(const Json& in, const Call&) {
  API_TRY(std::string name, groupName(in));
  API_TRY(auto pu, adminUser(in));
  Status s = ctx_.store.addUserToGroup(pu.first.row.id, name, pu.second.row.sub);
  if (s.code() == StatusCode::kNotFound) return resourceNotFound("Group not found.");
  IDP_TRY_STATUS(s);
  return Json::object();
}

ApiResult<Json> IdpApi::adminRemoveUserFromGroup(const Json& in, const Call&) {
  API_TRY(std::string name, groupName(in));
  API_TRY(auto pu, adminUser(in));
  Status s = ctx_.store.removeUserFromGroup(pu.first.row.id, name, pu.second.row.sub);
  if (s.code() == StatusCode::kNotFound) return resourceNotFound("Group not found.");
  IDP_TRY_STATUS(s);
  return Json::object();
}

ApiResult<Json> IdpApi::adminListGroupsForUser(const Json& in, const Call&) {
  API_TRY(int limit, queryLimit(in, "Limit"));
  API_TRY(auto next, cognito::getString(in, "NextToken"));
  API_TRY(auto pu, adminUser(in));
  IDP_TRY_RESULT(std::vector<UserGroupRow> rows, ctx_.store.listGroupsForUser(pu.first.row.id, pu.second.row.sub));
  Json groups = Json::array();
  std::string last;
  size_t count = 0;
  for (const UserGroupRow& g : rows) {
    if (next && g.name <= *next) continue;
    if (count == static_cast<size_t>(limit)) {
      Json out = {{"Groups", groups}, {"NextToken", last}};
      return out;
    }
    groups.push_back(groupType(g));
    last = g.name;
    ++count;
  }
  return Json{{"Groups", groups}};
}

ApiResult<Json> IdpApi::listUsersInGroup(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(std::string name, groupName(in));
  API_TRY(int limit, queryLimit(in, "Limit"));
  API_TRY(auto token, cognito::getString(in, "NextToken"));
  API_TRY(UserCursor after, decodeCursor(token));
  IDP_TRY_RESULT(std::optional<UserGroupRow> g, ctx_.store.getUserGroup(pool.row.id, name));
  if (!g) return resourceNotFound("Group not found.");
  IDP_TRY_RESULT(std::vector<UserRow> rows, ctx_.store.listUsersInGroup(pool.row.id, name, after, limit + 1));
  Json users = Json::array();
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i)
    users.push_back(userType(User{rows[i], UserState{}}));
  Json out = {{"Users", users}};
  if (rows.size() > static_cast<size_t>(limit))
    out["NextToken"] = encodeCursor(UserCursor{rows[limit - 1].createdMs, rows[limit - 1].sub});
  return out;
}

}  // namespace tether::server::idp
