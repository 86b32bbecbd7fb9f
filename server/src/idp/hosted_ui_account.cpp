// Hosted UI account pages: sign-up, confirmation (and a new code), forgotten password; see
// hosted_ui.h. Each runs the JSON API's own operation (SignUp, ConfirmSignUp,
// ResendConfirmationCode, ForgotPassword, ConfirmForgotPassword) through
// IdpApi::callForHostedUi, so the checks, limits, code delivery and triggers are the same.
#include <algorithm>

#include "idp/hosted_ui.h"

namespace tether::server::idp {
namespace {

std::string valueOf(const HostedUi::Visit& v, std::string_view name) {
  const std::string* p = v.param(name);
  return p ? *p : "";
}

}  // namespace

// ---- /signup

HttpResponse HostedUi::signup(Visit& v) {
  const UserPoolConfig& pool = v.authz->client.pool.config;
  const auto& usernameAttrs = pool.usernameAttributes();
  const bool emailIsUsername = std::find(usernameAttrs.begin(), usernameAttrs.end(), "email") != usernameAttrs.end();
  // The attributes the form asks for: email (unless it is the username), phone when required,
  // then any other required attribute of the schema.
  std::vector<std::string> attrs;
  const auto& auto_ = pool.autoVerifiedAttributes();
  auto required = [&](const std::string& name) {
    const SchemaAttribute* s = pool.schemaAttribute(name);
    return s && s->required;
  };
  if (!emailIsUsername) attrs.push_back("email");
  if (required("phone_number") || std::find(auto_.begin(), auto_.end(), "phone_number") != auto_.end())
    attrs.push_back("phone_number");
  for (const auto& [name, s] : pool.schema())
    if (s.required && name != "sub" && name != "email" && name != "phone_number") attrs.push_back(name);

  auto render = [&](int status, const std::string& error) {
    std::vector<Field> fields;
    if (usernameAttrs.empty()) fields.push_back(Field{"username", "Username", "text", valueOf(v, "username"), "username"});
    else fields.push_back(Field{"username", emailIsUsername ? "Email" : "Phone number", emailIsUsername ? "email" : "tel",
                                valueOf(v, "username"), emailIsUsername ? "email" : "tel"});
    for (const std::string& a : attrs) {
      Field f{"attr_" + a, a == "email" ? "Email" : a == "phone_number" ? "Phone number" : a, "text",
              valueOf(v, "attr_" + a), ""};
      if (a == "email") f.type = f.autocomplete = "email";
      if (a == "phone_number") {
        f.type = f.autocomplete = "tel";
        f.hint = "In international format, e.g. +14155550100";
      }
      f.required = required(a) || (a == "email" && std::find(auto_.begin(), auto_.end(), "email") != auto_.end());
      fields.push_back(std::move(f));
    }
    const PasswordPolicy& policy = pool.passwordPolicy();
    std::string rules = "At least " + std::to_string(policy.minimumLength) + " characters";
    if (policy.requireUppercase) rules += ", an upper-case letter";
    if (policy.requireLowercase) rules += ", a lower-case letter";
    if (policy.requireNumbers) rules += ", a number";
    if (policy.requireSymbols) rules += ", a symbol";
    fields.push_back(Field{"password", "Password", "password", "", "new-password", rules + "."});
    Page p;
    p.title = "Sign up";
    p.error = error;
    p.forms.push_back(form(v, "/signup", "signup", std::move(fields), "Sign up"));
    p.links = {{link(v, "/login"), "Already have an account? Sign in"}};
    return page(v, status, std::move(p));
  };
  if (v.request.method != "POST") return render(200, "");
  if (!csrfOk(v, "signup")) return render(403, "The form expired. Please try again.");
  const std::string username = valueOf(v, "username");
  const std::string password = valueOf(v, "password");
  if (username.empty() || password.empty()) return render(400, "Enter a username and a password.");
  Json userAttributes = Json::array();
  for (const std::string& a : attrs)
    if (std::string value = valueOf(v, "attr_" + a); !value.empty())
      userAttributes.push_back({{"Name", a}, {"Value", value}});
  ApiResult<Json> out = api_.callForHostedUi(
      "SignUp",
      {{"ClientId", v.clientId()}, {"Username", username}, {"Password", password}, {"UserAttributes", userAttributes}},
      v.request);
  if (!out.isOk()) return render(400, friendly(out.error()));
  if (out->value("UserConfirmed", false)) return redirect(v, link(v, "/login", {{"notice", "confirmed"}}));
  return redirect(v, link(v, "/confirmUser", {{"username", username}}));
}

// ---- /confirmUser

HttpResponse HostedUi::confirmUser(Visit& v) {
  const std::string username = valueOf(v, "username");
  auto render = [&](int status, const std::string& error, const std::string& notice) {
    Page p;
    p.title = "Confirm your account";
    p.error = error;
    p.notice = notice;
    p.paragraphs = {"We sent a code to the address you signed up with. Enter it to confirm your account."};
    p.forms.push_back(form(v, "/confirmUser", "confirm",
                           {Field{"username", "Username", "text", username, "username"},
                            Field{"code", "Confirmation code", "text", "", "one-time-code", "", "numeric"}},
                           "Confirm account"));
    p.forms.push_back(form(v, "/confirmUser", "resend", {}, "Send a new code", {{"username", username}}));
    p.links = {{link(v, "/login"), "Back to sign in"}};
    return page(v, status, std::move(p));
  };
  if (v.request.method != "POST") return render(200, "", "");
  const std::string which = valueOf(v, "form") == "resend" ? "resend" : "confirm";
  if (!csrfOk(v, which)) return render(403, "The form expired. Please try again.", "");
  if (username.empty()) return render(400, "Enter your username.", "");
  if (which == "resend") {
    ApiResult<Json> out =
        api_.callForHostedUi("ResendConfirmationCode", {{"ClientId", v.clientId()}, {"Username", username}}, v.request);
    if (!out.isOk()) return render(400, friendly(out.error()), "");
    std::string dest = (*out)["CodeDeliveryDetails"].value("Destination", "");
    return render(200, "", "A new code is on its way" + (dest.empty() ? std::string(".") : " to " + dest + "."));
  }
  const std::string code = valueOf(v, "code");
  if (code.empty()) return render(400, "Enter the confirmation code.", "");
  ApiResult<Json> out = api_.callForHostedUi(
      "ConfirmSignUp", {{"ClientId", v.clientId()}, {"Username", username}, {"ConfirmationCode", code}}, v.request);
  if (!out.isOk()) return render(400, friendly(out.error()), "");
  return redirect(v, link(v, "/login", {{"notice", "confirmed"}, {"username", username}}));
}

// ---- /forgotPassword and /confirmForgotPassword

HttpResponse HostedUi::forgotPassword(Visit& v) {
  auto render = [&](int status, const std::string& error) {
    Page p;
    p.title = "Reset your password";
    p.error = error;
    p.paragraphs = {"Enter your username. We will send a code to reset your password."};
    p.forms.push_back(form(v, "/forgotPassword", "forgot",
                           {Field{"username", "Username", "text", valueOf(v, "username"), "username"}}, "Send code"));
    p.links = {{link(v, "/login"), "Back to sign in"}};
    return page(v, status, std::move(p));
  };
  if (v.request.method != "POST") return render(200, "");
  if (!csrfOk(v, "forgot")) return render(403, "The form expired. Please try again.");
  const std::string username = valueOf(v, "username");
  if (username.empty()) return render(400, "Enter your username.");
  ApiResult<Json> out = api_.callForHostedUi("ForgotPassword", {{"ClientId", v.clientId()}, {"Username", username}}, v.request);
  if (!out.isOk()) return render(400, friendly(out.error()));
  return redirect(v, link(v, "/confirmForgotPassword", {{"username", username}}));
}

HttpResponse HostedUi::confirmForgotPassword(Visit& v) {
  const std::string username = valueOf(v, "username");
  auto render = [&](int status, const std::string& error) {
    Page p;
    p.title = "Choose a new password";
    p.error = error;
    p.paragraphs = {"Enter the code we sent you and your new password."};
    p.forms.push_back(form(v, "/confirmForgotPassword", "confirmForgot",
                           {Field{"username", "Username", "text", username, "username"},
                            Field{"code", "Code", "text", "", "one-time-code", "", "numeric"},
                            Field{"password", "New password", "password", "", "new-password"}},
                           "Reset password"));
    p.links = {{link(v, "/login"), "Back to sign in"}};
    return page(v, status, std::move(p));
  };
  if (v.request.method != "POST") return render(200, "");
  if (!csrfOk(v, "confirmForgot")) return render(403, "The form expired. Please try again.");
  const std::string code = valueOf(v, "code"), password = valueOf(v, "password");
  if (username.empty() || code.empty() || password.empty()) return render(400, "Fill in every field.");
  ApiResult<Json> out = api_.callForHostedUi(
      "ConfirmForgotPassword",
      {{"ClientId", v.clientId()}, {"Username", username}, {"ConfirmationCode", code}, {"Password", password}}, v.request);
  if (!out.isOk()) return render(400, friendly(out.error()));
  return redirect(v, link(v, "/login", {{"notice", "password_reset"}, {"username", username}}));
}

}  // namespace tether::server::idp
