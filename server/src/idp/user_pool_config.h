// UserPoolConfig: a user pool's settings (spec cognito-user-pools.md 4.12, 9.1), kept as the
// normalized AWS `UserPoolType` JSON (so DescribeUserPool echoes every field the caller set,
// including the ones tetherd stores without acting on, e.g. EmailConfiguration) plus the typed
// view the operations act on. Built from a CreateUserPool/UpdateUserPool request (validated,
// defaults filled in) or from the stored document.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "idp/idp_errors.h"

namespace tether::server::idp {

struct PasswordPolicy {
  int minimumLength = 8;
  bool requireUppercase = true;
  bool requireLowercase = true;
  bool requireNumbers = true;
  bool requireSymbols = true;
  int temporaryPasswordValidityDays = 7;
  int passwordHistorySize = 0;
};

// One attribute of the pool's schema (standard or `custom:`/`dev:custom:`).
struct SchemaAttribute {
  std::string name;
  std::string dataType = "String";  // String | Number | DateTime | Boolean
  bool required = false;
  bool mutableValue = true;
  bool developerOnly = false;
  std::optional<int64_t> minLength, maxLength;  // String
  std::optional<int64_t> minValue, maxValue;    // Number
};

class UserPoolConfig {
 public:
  // Keys of the stored document that belong to other operations than Create/UpdateUserPool.
  static constexpr const char* kResourceServersKey = "tether:ResourceServers";
  static constexpr const char* kCustomDomainKey = "tether:CustomDomainConfig";

  // CreateUserPool input -> config. InvalidParameterException naming the bad member.
  static ApiResult<UserPoolConfig> fromCreateRequest(const Json& in);
  // UpdateUserPool input -> config: omitted members go back to their defaults (as AWS does),
  // except what can't change after creation (username/alias attributes, case sensitivity,
  // schema), which is kept from `current`, and the MFA settings, which UpdateUserPool leaves
  // alone unless MfaConfiguration is given.
  static ApiResult<UserPoolConfig> fromUpdateRequest(const Json& in, const UserPoolConfig& current);
  // The stored document -> config (kCorruption if it is not one we wrote).
  static Result<UserPoolConfig> fromStored(std::string_view json);

  std::string toStored() const;
  // The UserPoolType fields that come from the settings (the caller adds Id, Name, Arn, dates,
  // EstimatedNumberOfUsers and Domain).
  Json describe() const;

  const PasswordPolicy& passwordPolicy() const { return policy_; }
  const std::string& mfaConfiguration() const { return mfa_; }  // OFF | ON | OPTIONAL
  bool totpEnabled() const { return totpEnabled_; }
  const std::vector<std::string>& autoVerifiedAttributes() const { return autoVerified_; }
  const std::vector<std::string>& aliasAttributes() const { return aliasAttributes_; }
  const std::vector<std::string>& usernameAttributes() const { return usernameAttributes_; }
  bool caseSensitive() const { return caseSensitive_; }
  bool allowAdminCreateUserOnly() const { return adminCreateOnly_; }
  bool deletionProtection() const { return deletionProtection_; }
  // verified_email / verified_phone_number / admin_only, by priority.
  const std::vector<std::string>& recoveryMechanisms() const { return recovery_; }
  const std::vector<std::string>& attributesRequireVerificationBeforeUpdate() const { return verifyBeforeUpdate_; }
  // LambdaConfig key -> ARN (PreTokenGenerationConfig.LambdaArn appears as "PreTokenGeneration").
  const std::map<std::string, std::string>& lambdaConfig() const { return lambdas_; }
  // "V1_0" (default), "V2_0" or "V3_0".
  const std::string& preTokenGenerationVersion() const { return preTokenVersion_; }
  const std::map<std::string, SchemaAttribute>& schema() const { return schema_; }
  const SchemaAttribute* schemaAttribute(const std::string& name) const;

  // Message templates with `{####}` (and `{username}` for invitations).
  std::string verificationEmailSubject() const;
  std::string verificationEmailMessage() const;
  std::string verificationSmsMessage() const;
  std::string inviteEmailSubject() const;
  std::string inviteEmailMessage() const;
  std::string inviteSmsMessage() const;

  // SetUserPoolMfaConfig.
  void setMfa(std::string configuration, bool totpEnabled);

  // Resource servers (Create/Update/DeleteResourceServer): ResourceServerType objects, kept in the
  // stored document but not echoed by describe(); UpdateUserPool keeps them.
  Json resourceServers() const;
  void setResourceServers(Json servers);
  // Whether "<identifier>/<scope name>" is a scope of one of the resource servers.
  bool scopeExists(std::string_view scope) const;
  // The CustomDomainConfig of a custom domain (null: none or a prefix domain).
  Json customDomainConfig() const;
  void setCustomDomainConfig(Json config);

 private:
  static ApiResult<UserPoolConfig> build(const Json& in, const UserPoolConfig* current);
  Status loadTyped();

  Json doc_ = Json::object();
  PasswordPolicy policy_;
  std::string mfa_ = "OFF";
  bool totpEnabled_ = false;
  std::vector<std::string> autoVerified_, aliasAttributes_, usernameAttributes_, recovery_, verifyBeforeUpdate_;
  bool caseSensitive_ = true;
  bool adminCreateOnly_ = false;
  bool deletionProtection_ = false;
  std::map<std::string, std::string> lambdas_;
  std::string preTokenVersion_ = "V1_0";
  std::map<std::string, SchemaAttribute> schema_;
};

// The standard (OIDC) attributes a pool always has (spec 1.3).
const std::vector<std::string>& standardAttributeNames();
bool isStandardAttribute(std::string_view name);

}  // namespace tether::server::idp
