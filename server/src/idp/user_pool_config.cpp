// User pool settings; see user_pool_config.h.
#include "idp/user_pool_config.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace tether::server::idp {
namespace {

constexpr const char* kDefaultVerificationMessage = "Your verification code is {####}. ";
constexpr const char* kDefaultVerificationSubject = "Your verification code";
constexpr const char* kDefaultInviteMessage = "Your username is {username} and temporary password is {####}. ";
constexpr const char* kDefaultInviteSubject = "Your temporary password";
constexpr int kMaxCustomAttributes = 50;

// Members of UserPoolType that tetherd keeps and echoes without acting on them; each must be a
// JSON object (or, for the string ones, a string) when present.
const std::vector<std::string>& storedObjectMembers() {
  static const std::vector<std::string> k = {"DeviceConfiguration", "EmailConfiguration", "SmsConfiguration",
                                             "UserPoolTags",        "UserPoolAddOns",     "VerificationMessageTemplate",
                                             "AdminCreateUserConfig"};
  return k;
}
const std::vector<std::string>& storedStringMembers() {
  static const std::vector<std::string> k = {"SmsAuthenticationMessage", "EmailVerificationMessage",
                                             "EmailVerificationSubject", "SmsVerificationMessage",
                                             "UserPoolTier"};
  return k;
}

const std::set<std::string>& lambdaKeys() {
  static const std::set<std::string> k = {
      "PreSignUp",           "CustomMessage",       "PostConfirmation",           "PreAuthentication",
      "PostAuthentication",  "DefineAuthChallenge", "CreateAuthChallenge",        "VerifyAuthChallengeResponse",
      "PreTokenGeneration",  "UserMigration",       "PreTokenGenerationConfig",   "CustomSMSSender",
      "CustomEmailSender",   "KMSKeyID"};
  return k;
}

bool subsetOf(const std::vector<std::string>& v, std::initializer_list<const char*> allowed) {
  for (const std::string& s : v)
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return s == a; })) return false;
  return true;
}

ApiResult<std::vector<std::string>> stringList(const Json& in, const char* name, const char* member,
                                               std::initializer_list<const char*> allowed) {
  API_TRY(auto v, cognito::getStringList(in, name));
  std::vector<std::string> out = v ? *v : std::vector<std::string>();
  if (!subsetOf(out, allowed)) {
    std::string set;
    for (const char* a : allowed) set += std::string(set.empty() ? "" : ", ") + a;
    return validationError(member, "Member must satisfy enum value set: [" + set + "]");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

ApiResult<int64_t> intIn(const Json& obj, const char* name, const char* member, int64_t lo, int64_t hi,
                         int64_t dflt) {
  API_TRY(auto v, cognito::getInt(obj, name));
  if (!v) return dflt;
  if (*v < lo || *v > hi)
    return validationError(member, "Member must have value between " + std::to_string(lo) + " and " +
                                       std::to_string(hi));
  return *v;
}

ApiResult<bool> boolOr(const Json& obj, const char* name, bool dflt) {
  API_TRY(auto v, cognito::getBool(obj, name));
  return v ? *v : dflt;
}

ApiError notObject(const std::string& name) {
  return validationError(name, "Member must be a structure");
}

Json defaultSchemaEntry(const std::string& name) {
  Json a = {{"Name", name}, {"AttributeDataType", "String"}, {"DeveloperOnlyAttribute", false},
            {"Mutable", true}, {"Required", false}};
  if (name == "sub") {
    a["Mutable"] = false;
    a["Required"] = true;
    a["StringAttributeConstraints"] = {{"MinLength", "1"}, {"MaxLength", "2048"}};
  } else if (name == "email_verified" || name == "phone_number_verified") {
    a["AttributeDataType"] = "Boolean";
  } else if (name == "updated_at") {
    a["AttributeDataType"] = "Number";
    a["NumberAttributeConstraints"] = {{"MinValue", "0"}};
  } else {
    a["StringAttributeConstraints"] = {{"MinLength", "0"}, {"MaxLength", "2048"}};
  }
  return a;
}

std::optional<int64_t> constraint(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    // AWS sends the constraints as decimal strings; anything else ("-", "1-2", 20 digits) is
    // no constraint, never an exception.
    const std::string& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

// The Schema member of CreateUserPool: standard attributes may be marked required (and their
// constraints set); custom ones are added as `custom:<name>` (`dev:custom:` when developer-only).
ApiResult<Json> buildSchema(const Json& in) {
  Json schema = Json::array();
  std::map<std::string, Json> byName;
  for (const std::string& n : standardAttributeNames()) byName[n] = defaultSchemaEntry(n);
  auto it = in.find("Schema");
  int custom = 0;
  if (it != in.end() && !it->is_null()) {
    if (!it->is_array()) return validationError("schema", "Member must be a list");
    if (it->size() > 50 + standardAttributeNames().size())
      return validationError("schema", "Member must have length less than or equal to 50");
    for (const Json& a : *it) {
      if (!a.is_object()) return validationError("schema", "Member must be a list of SchemaAttributeType");
      API_TRY(auto name, cognito::getString(a, "Name", true));
      if (name->empty() || name->size() > 20 + 7)
        return validationError("schema.member.name", "Member must have length between 1 and 20");
      API_TRY(auto type, cognito::getString(a, "AttributeDataType"));
      std::string dataType = type ? *type : "String";
      if (dataType != "String" && dataType != "Number" && dataType != "DateTime" && dataType != "Boolean")
        return validationError("schema.member.attributeDataType",
                               "Member must satisfy enum value set: [Boolean, Number, String, DateTime]");
      API_TRY(bool developerOnly, boolOr(a, "DeveloperOnlyAttribute", false));
      API_TRY(bool mutableValue, boolOr(a, "Mutable", true));
      API_TRY(bool required, boolOr(a, "Required", false));
      Json entry = {{"Name", *name}, {"AttributeDataType", dataType}, {"DeveloperOnlyAttribute", developerOnly},
                    {"Mutable", mutableValue}, {"Required", required}};
      for (const char* c : {"NumberAttributeConstraints", "StringAttributeConstraints"}) {
        auto ci = a.find(c);
        if (ci == a.end() || ci->is_null()) continue;
        if (!ci->is_object()) return notObject(std::string("schema.member.") + c);
        Json norm = Json::object();
        for (const char* k : {"MinValue", "MaxValue", "MinLength", "MaxLength"})
          if (auto v = constraint(*ci, k)) norm[k] = std::to_string(*v);
        entry[c] = norm;
      }
      if (isStandardAttribute(*name)) {
        if (*name == "sub") continue;  // fixed
        if (dataType != byName[*name]["AttributeDataType"])
          return invalidParameter("You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute " + *name);
        byName[*name] = entry;
        continue;
      }
      if (name->find(':') != std::string::npos)
        return invalidParameter("Custom attribute names may not contain ':' (" + *name + ")");
      if (++custom > kMaxCustomAttributes) return invalidParameter("A user pool may have at most 50 custom attributes");
      if (required) return invalidParameter("Required custom attributes are not supported.");
      std::string full = (developerOnly ? "dev:custom:" : "custom:") + *name;
      entry["Name"] = full;
      if (byName.count(full)) return invalidParameter("Duplicate schema attribute " + *name);
      byName[full] = entry;
    }
  }
  for (auto& [n, e] : byName) schema.push_back(e);
  return schema;
}

ApiResult<bool> checkTemplate(const Json& obj, const char* name, bool needsUsername) {
  API_TRY(auto v, cognito::getString(obj, name));
  if (!v) return true;
  if (v->size() > 20000) return validationError(name, "Member must have length less than or equal to 20000");
  if (std::string_view(name).find("Subject") == std::string_view::npos) {
    if (v->find("{####}") == std::string::npos)
      return invalidParameter(std::string(name) + " must contain the {####} placeholder.");
    if (needsUsername && v->find("{username}") == std::string::npos)
      return invalidParameter(std::string(name) + " must contain the {username} placeholder.");
  }
  return true;
}

std::string docString(const Json& doc, std::initializer_list<const char*> path, const char* dflt) {
  const Json* cur = &doc;
  for (const char* p : path) {
    auto it = cur->find(p);
    if (it == cur->end()) return dflt;
    cur = &*it;
  }
  return cur->is_string() && !cur->get_ref<const std::string&>().empty() ? cur->get<std::string>() : dflt;
}

}  // namespace

const std::vector<std::string>& standardAttributeNames() {
  static const std::vector<std::string> k = {
      "address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name",
      "locale", "middle_name", "name", "nickname", "phone_number", "phone_number_verified", "picture",
      "preferred_username", "profile", "sub", "updated_at", "website", "zoneinfo"};
  return k;
}

bool isStandardAttribute(std::string_view name) {
  const auto& k = standardAttributeNames();
  return std::find(k.begin(), k.end(), name) != k.end();
}

ApiResult<UserPoolConfig> UserPoolConfig::fromCreateRequest(const Json& in) { return build(in, nullptr); }

ApiResult<UserPoolConfig> UserPoolConfig::fromUpdateRequest(const Json& in, const UserPoolConfig& current) {
  return build(in, &current);
}

ApiResult<UserPoolConfig> UserPoolConfig::build(const Json& in, const UserPoolConfig* current) {
  Json doc = Json::object();
  // Policies.PasswordPolicy
  Json policies = Json::object();
  auto pit = in.find("Policies");
  if (pit != in.end() && !pit->is_null() && !pit->is_object()) return notObject("policies");
  Json pp = Json::object();
  if (pit != in.end() && pit->is_object()) {
    auto ppit = pit->find("PasswordPolicy");
    if (ppit != pit->end() && !ppit->is_null()) {
      if (!ppit->is_object()) return notObject("policies.passwordPolicy");
      pp = *ppit;
    }
    auto sit = pit->find("SignInPolicy");
    if (sit != pit->end() && sit->is_object()) policies["SignInPolicy"] = *sit;
  }
  API_TRY(int64_t minLength, intIn(pp, "MinimumLength", "policies.passwordPolicy.minimumLength", 6, 99, 8));
  API_TRY(bool upper, boolOr(pp, "RequireUppercase", true));
  API_TRY(bool lower, boolOr(pp, "RequireLowercase", true));
  API_TRY(bool numbers, boolOr(pp, "RequireNumbers", true));
  API_TRY(bool symbols, boolOr(pp, "RequireSymbols", true));
  API_TRY(int64_t tempDays, intIn(pp, "TemporaryPasswordValidityDays",
                                  "policies.passwordPolicy.temporaryPasswordValidityDays", 0, 365, 7));
  API_TRY(int64_t history, intIn(pp, "PasswordHistorySize", "policies.passwordPolicy.passwordHistorySize", 0, 24, 0));
  Json policyOut = {{"MinimumLength", minLength}, {"RequireUppercase", upper}, {"RequireLowercase", lower},
                    {"RequireNumbers", numbers},  {"RequireSymbols", symbols},
                    {"TemporaryPasswordValidityDays", tempDays == 0 ? 7 : tempDays}};
  if (history > 0) policyOut["PasswordHistorySize"] = history;
  policies["PasswordPolicy"] = policyOut;
  doc["Policies"] = policies;

  // LambdaConfig
  Json lambda = Json::object();
  auto lit = in.find("LambdaConfig");
  if (lit != in.end() && !lit->is_null()) {
    if (!lit->is_object()) return notObject("lambdaConfig");
    for (auto it = lit->begin(); it != lit->end(); ++it) {
      if (!lambdaKeys().count(it.key())) return invalidParameter("Unknown LambdaConfig member " + it.key());
      if (it.key() == "PreTokenGenerationConfig") {
        if (!it->is_object()) return notObject("lambdaConfig.preTokenGenerationConfig");
        API_TRY(auto version, cognito::getString(*it, "LambdaVersion", true));
        API_TRY(auto arn, cognito::getString(*it, "LambdaArn", true));
        if (*version != "V1_0" && *version != "V2_0" && *version != "V3_0")
          return validationError("lambdaConfig.preTokenGenerationConfig.lambdaVersion",
                                 "Member must satisfy enum value set: [V1_0, V2_0, V3_0]");
        lambda[it.key()] = {{"LambdaVersion", *version}, {"LambdaArn", *arn}};
        continue;
      }
      if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
          it->get_ref<const std::string&>().size() > 2048)
        return validationError("lambdaConfig." + it.key(), "Member must be an ARN of 20 to 2048 characters");
      lambda[it.key()] = *it;
    }
  }
  doc["LambdaConfig"] = lambda;

  // Attributes used to sign in: fixed at creation.
  if (current) {
    for (const char* k : {"AliasAttributes", "UsernameAttributes", "UsernameConfiguration", "SchemaAttributes"})
      if (current->doc_.contains(k)) doc[k] = current->doc_.at(k);
  } else {
    API_TRY(auto alias, stringList(in, "AliasAttributes", "aliasAttributes", {"phone_number", "email", "preferred_username"}));
    API_TRY(auto uname, stringList(in, "UsernameAttributes", "usernameAttributes", {"phone_number", "email"}));
    if (!alias.empty() && !uname.empty())
      return invalidParameter("Only one of AliasAttributes or UsernameAttributes can be set in a User Pool.");
    if (!alias.empty()) doc["AliasAttributes"] = alias;
    if (!uname.empty()) doc["UsernameAttributes"] = uname;
    bool caseSensitive = true;
    auto uc = in.find("UsernameConfiguration");
    if (uc != in.end() && !uc->is_null()) {
      if (!uc->is_object()) return notObject("usernameConfiguration");
      API_TRY(auto cs, cognito::getBool(*uc, "CaseSensitive", true));
      caseSensitive = *cs;
    }
    doc["UsernameConfiguration"] = {{"CaseSensitive", caseSensitive}};
    API_TRY(Json schema, buildSchema(in));
    doc["SchemaAttributes"] = schema;
  }

  API_TRY(auto autoVerified, stringList(in, "AutoVerifiedAttributes", "autoVerifiedAttributes", {"phone_number", "email"}));
  if (!autoVerified.empty()) doc["AutoVerifiedAttributes"] = autoVerified;

  // MFA: UpdateUserPool may set MfaConfiguration; TOTP is switched on by SetUserPoolMfaConfig.
  API_TRY(auto mfa, cognito::getString(in, "MfaConfiguration"));
  std::string mfaValue = mfa ? *mfa : (current ? current->mfa_ : "OFF");
  if (mfaValue != "OFF" && mfaValue != "ON" && mfaValue != "OPTIONAL")
    return validationError("mfaConfiguration", "Member must satisfy enum value set: [OFF, ON, OPTIONAL]");
  bool totp = current ? current->totpEnabled_ : false;
  if (mfaValue == "ON" && !totp)
    return invalidParameter(
        "MFA ON requires an enabled second factor; tetherd supports TOTP: enable it with SetUserPoolMfaConfig "
        "(SoftwareTokenMfaConfiguration.Enabled) together with MfaConfiguration ON.");
  doc["MfaConfiguration"] = mfaValue;
  doc["SoftwareTokenMfaConfiguration"] = {{"Enabled", totp}};

  // Stored-and-echoed members.
  for (const std::string& k : storedObjectMembers()) {
    auto it = in.find(k);
    if (it == in.end() || it->is_null()) continue;
    if (!it->is_object()) return notObject(k);
    doc[k] = *it;
  }
  for (const std::string& k : storedStringMembers()) {
    API_TRY(auto v, cognito::getString(in, k.c_str()));
    if (v) doc[k] = *v;
  }
  for (const char* k : {"EmailVerificationMessage", "SmsVerificationMessage", "SmsAuthenticationMessage"})
    { API_TRY(bool ok, checkTemplate(in, k, false)); (void)ok; }
  // VerificationMessageTemplate defaults and checks.
  Json vmt = doc.value("VerificationMessageTemplate", Json::object());
  for (const char* k : {"EmailMessage", "SmsMessage"}) { API_TRY(bool ok, checkTemplate(vmt, k, false)); (void)ok; }
  if (!vmt.contains("DefaultEmailOption")) vmt["DefaultEmailOption"] = "CONFIRM_WITH_CODE";
  doc["VerificationMessageTemplate"] = vmt;
  Json acu = doc.value("AdminCreateUserConfig", Json::object());
  API_TRY(bool adminOnly, boolOr(acu, "AllowAdminCreateUserOnly", false));
  acu["AllowAdminCreateUserOnly"] = adminOnly;
  if (!acu.contains("UnusedAccountValidityDays")) acu["UnusedAccountValidityDays"] = 7;
  if (auto t = acu.find("InviteMessageTemplate"); t != acu.end()) {
    if (!t->is_object()) return notObject("adminCreateUserConfig.inviteMessageTemplate");
    for (const char* k : {"EmailMessage", "SMSMessage"}) { API_TRY(bool ok, checkTemplate(*t, k, true)); (void)ok; }
  }
  doc["AdminCreateUserConfig"] = acu;
  if (!doc.contains("EmailConfiguration")) doc["EmailConfiguration"] = {{"EmailSendingAccount", "COGNITO_DEFAULT"}};

  // AccountRecoverySetting
  Json recovery = {{"RecoveryMechanisms", Json::array({{{"Priority", 1}, {"Name", "verified_email"}},
                                                       {{"Priority", 2}, {"Name", "verified_phone_number"}}})}};
  if (auto it = in.find("AccountRecoverySetting"); it != in.end() && !it->is_null()) {
    if (!it->is_object()) return notObject("accountRecoverySetting");
    auto mechs = it->find("RecoveryMechanisms");
    if (mechs == it->end() || !mechs->is_array() || mechs->empty() || mechs->size() > 2)
      return validationError("accountRecoverySetting.recoveryMechanisms",
                             "Member must have length between 1 and 2");
    for (const Json& m : *mechs) {
      if (!m.is_object()) return notObject("accountRecoverySetting.recoveryMechanisms.member");
      API_TRY(auto name, cognito::getString(m, "Name", true));
      API_TRY(int64_t prio, intIn(m, "Priority", "accountRecoverySetting.recoveryMechanisms.member.priority", 1, 2, 1));
      (void)prio;
      if (*name != "verified_email" && *name != "verified_phone_number" && *name != "admin_only")
        return validationError("accountRecoverySetting.recoveryMechanisms.member.name",
                               "Member must satisfy enum value set: [verified_email, verified_phone_number, admin_only]");
    }
    recovery = *it;
  }
  doc["AccountRecoverySetting"] = recovery;

  API_TRY(auto protection, cognito::getString(in, "DeletionProtection"));
  std::string dp = protection ? *protection : "INACTIVE";
  if (dp != "ACTIVE" && dp != "INACTIVE")
    return validationError("deletionProtection", "Member must satisfy enum value set: [ACTIVE, INACTIVE]");
  doc["DeletionProtection"] = dp;

  if (auto it = in.find("UserAttributeUpdateSettings"); it != in.end() && !it->is_null()) {
    if (!it->is_object()) return notObject("userAttributeUpdateSettings");
    API_TRY(auto attrs, stringList(*it, "AttributesRequireVerificationBeforeUpdate",
                                   "userAttributeUpdateSettings.attributesRequireVerificationBeforeUpdate",
                                   {"phone_number", "email"}));
    doc["UserAttributeUpdateSettings"] = {{"AttributesRequireVerificationBeforeUpdate", attrs}};
  }

  // What other operations own (resource servers, the custom domain's settings) survives an update.
  if (current)
    for (const char* k : {kResourceServersKey, kCustomDomainKey})
      if (current->doc_.contains(k)) doc[k] = current->doc_.at(k);

  UserPoolConfig c;
  c.doc_ = std::move(doc);
  Status s = c.loadTyped();
  if (!s.isOk()) return invalidParameter(s.message());
  return c;
}

Result<UserPoolConfig> UserPoolConfig::fromStored(std::string_view json) {
  Json doc = Json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Status::corruption("user pool settings are not a JSON object");
  UserPoolConfig c;
  c.doc_ = std::move(doc);
  TETHER_RETURN_IF_ERROR(c.loadTyped());
  return c;
}

Status UserPoolConfig::loadTyped() {
  try {
    const Json& pp = doc_.at("Policies").at("PasswordPolicy");
    policy_.minimumLength = pp.value("MinimumLength", 8);
    policy_.requireUppercase = pp.value("RequireUppercase", true);
    policy_.requireLowercase = pp.value("RequireLowercase", true);
    policy_.requireNumbers = pp.value("RequireNumbers", true);
    policy_.requireSymbols = pp.value("RequireSymbols", true);
    policy_.temporaryPasswordValidityDays = pp.value("TemporaryPasswordValidityDays", 7);
    policy_.passwordHistorySize = pp.value("PasswordHistorySize", 0);
    mfa_ = doc_.value("MfaConfiguration", "OFF");
    totpEnabled_ = doc_.value("SoftwareTokenMfaConfiguration", Json::object()).value("Enabled", false);
    autoVerified_ = doc_.value("AutoVerifiedAttributes", std::vector<std::string>());
    aliasAttributes_ = doc_.value("AliasAttributes", std::vector<std::string>());
    usernameAttributes_ = doc_.value("UsernameAttributes", std::vector<std::string>());
    caseSensitive_ = doc_.value("UsernameConfiguration", Json::object()).value("CaseSensitive", true);
    adminCreateOnly_ = doc_.value("AdminCreateUserConfig", Json::object()).value("AllowAdminCreateUserOnly", false);
    deletionProtection_ = doc_.value("DeletionProtection", "INACTIVE") == "ACTIVE";
    recovery_.clear();
    std::vector<std::pair<int, std::string>> mechs;
    for (const Json& m : doc_.at("AccountRecoverySetting").at("RecoveryMechanisms"))
      mechs.emplace_back(m.value("Priority", 1), m.value("Name", ""));
    std::sort(mechs.begin(), mechs.end());
    for (auto& [p, n] : mechs) recovery_.push_back(n);
    verifyBeforeUpdate_ = doc_.value("UserAttributeUpdateSettings", Json::object())
                              .value("AttributesRequireVerificationBeforeUpdate", std::vector<std::string>());
    lambdas_.clear();
    preTokenVersion_ = "V1_0";
    for (auto it = doc_.at("LambdaConfig").begin(); it != doc_.at("LambdaConfig").end(); ++it) {
      if (it.key() == "PreTokenGenerationConfig") {
        lambdas_["PreTokenGeneration"] = it->value("LambdaArn", "");
        preTokenVersion_ = it->value("LambdaVersion", "V1_0");
      } else if (it->is_string() && !(it.key() == "PreTokenGeneration" && lambdas_.count("PreTokenGeneration"))) {
        lambdas_[it.key()] = it->get<std::string>();
      }
    }
    schema_.clear();
    for (const Json& a : doc_.at("SchemaAttributes")) {
      SchemaAttribute s;
      s.name = a.at("Name").get<std::string>();
      s.dataType = a.value("AttributeDataType", "String");
      s.required = a.value("Required", false);
      s.mutableValue = a.value("Mutable", true);
      s.developerOnly = a.value("DeveloperOnlyAttribute", false);
      if (auto c = a.find("StringAttributeConstraints"); c != a.end()) {
        s.minLength = constraint(*c, "MinLength");
        s.maxLength = constraint(*c, "MaxLength");
      }
      if (auto c = a.find("NumberAttributeConstraints"); c != a.end()) {
        s.minValue = constraint(*c, "MinValue");
        s.maxValue = constraint(*c, "MaxValue");
      }
      schema_[s.name] = s;
    }
  } catch (const Json::exception& e) {
    return Status::corruption(std::string("user pool settings: ") + e.what());
  }
  return Status::ok();
}

std::string UserPoolConfig::toStored() const { return doc_.dump(); }

Json UserPoolConfig::describe() const {
  Json out = doc_;
  out.erase("SoftwareTokenMfaConfiguration");
  out.erase(kResourceServersKey);
  out.erase(kCustomDomainKey);
  return out;
}

Json UserPoolConfig::resourceServers() const { return doc_.value(kResourceServersKey, Json::array()); }

void UserPoolConfig::setResourceServers(Json servers) {
  if (servers.empty()) doc_.erase(kResourceServersKey);
  else doc_[kResourceServersKey] = std::move(servers);
}

bool UserPoolConfig::scopeExists(std::string_view scope) const {
  size_t slash = scope.rfind('/');
  if (slash == std::string_view::npos) return false;
  auto it = doc_.find(kResourceServersKey);
  if (it == doc_.end()) return false;
  for (const Json& server : *it) {
    if (server.value("Identifier", "") != scope.substr(0, slash)) continue;
    for (const Json& s : server.value("Scopes", Json::array()))
      if (s.value("ScopeName", "") == scope.substr(slash + 1)) return true;
  }
  return false;
}

Json UserPoolConfig::customDomainConfig() const { return doc_.value(kCustomDomainKey, Json()); }

void UserPoolConfig::setCustomDomainConfig(Json config) {
  if (config.is_null()) doc_.erase(kCustomDomainKey);
  else doc_[kCustomDomainKey] = std::move(config);
}

const SchemaAttribute* UserPoolConfig::schemaAttribute(const std::string& name) const {
  auto it = schema_.find(name);
  return it == schema_.end() ? nullptr : &it->second;
}

void UserPoolConfig::setMfa(std::string configuration, bool totpEnabled) {
  doc_["MfaConfiguration"] = configuration;
  doc_["SoftwareTokenMfaConfiguration"] = {{"Enabled", totpEnabled}};
  mfa_ = std::move(configuration);
  totpEnabled_ = totpEnabled;
}

std::string UserPoolConfig::verificationEmailSubject() const {
  return docString(doc_, {"VerificationMessageTemplate", "EmailSubject"},
                   docString(doc_, {"EmailVerificationSubject"}, kDefaultVerificationSubject).c_str());
}
std::string UserPoolConfig::verificationEmailMessage() const {
  return docString(doc_, {"VerificationMessageTemplate", "EmailMessage"},
                   docString(doc_, {"EmailVerificationMessage"}, kDefaultVerificationMessage).c_str());
}
std::string UserPoolConfig::verificationSmsMessage() const {
  return docString(doc_, {"VerificationMessageTemplate", "SmsMessage"},
                   docString(doc_, {"SmsVerificationMessage"}, kDefaultVerificationMessage).c_str());
}
std::string UserPoolConfig::inviteEmailSubject() const {
  return docString(doc_, {"AdminCreateUserConfig", "InviteMessageTemplate", "EmailSubject"}, kDefaultInviteSubject);
}
std::string UserPoolConfig::inviteEmailMessage() const {
  return docString(doc_, {"AdminCreateUserConfig", "InviteMessageTemplate", "EmailMessage"}, kDefaultInviteMessage);
}
std::string UserPoolConfig::inviteSmsMessage() const {
  return docString(doc_, {"AdminCreateUserConfig", "InviteMessageTemplate", "SMSMessage"}, kDefaultInviteMessage);
}

}  // namespace tether::server::idp
