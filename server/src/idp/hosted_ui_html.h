// The hosted UI's pages and the small web codecs they need (spec cognito-user-pools.md 7.3):
// plain server-rendered HTML that works without JavaScript, with a lang attribute, one <h1>,
// labelled inputs with autocomplete hints, errors announced to screen readers (role="alert"),
// a visible keyboard focus, and every value that came from a request or the store escaped.
// Pages are described as data (Page, Form, Field) and rendered in one place, so no page builds
// markup from strings of its own.
// Thread-safety: pure functions over plain values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tether::server::idp {

using Params = std::vector<std::pair<std::string, std::string>>;

// `& < > " '` as character references: safe in element content and in quoted attributes.
std::string htmlEscape(std::string_view text);
// RFC 3986 percent-encoding of everything but the unreserved characters (for query strings and
// fragments we build).
std::string urlEncode(std::string_view text);
// "a=1&b=2" from pairs, each name and value urlEncode()d.
std::string encodeParams(const Params& params);
// One application/x-www-form-urlencoded component ('+' is a space, %XX a byte); nullopt when a
// % escape is malformed.
std::optional<std::string> formDecode(std::string_view text);
// An application/x-www-form-urlencoded body ('+' is a space, %XX a byte). nullopt when a %
// escape is malformed.
std::optional<Params> parseForm(std::string_view body);
// The value of the first parameter `name`, or nullptr.
const std::string* findParam(const Params& params, std::string_view name);
// Cookie header -> name -> value (first occurrence wins; no unquoting beyond the plain form).
std::map<std::string, std::string> parseCookies(std::string_view header);

struct Field {
  Field(std::string n, std::string l, std::string t = "text", std::string v = "", std::string ac = "",
        std::string h = "", std::string mode = "", bool req = true)
      : name(std::move(n)), label(std::move(l)), type(std::move(t)), value(std::move(v)), autocomplete(std::move(ac)),
        hint(std::move(h)), inputMode(std::move(mode)), required(req) {}
  std::string name;
  std::string label;
  std::string type = "text";       // text, password, email, tel, ...
  std::string value;               // prefilled (never for passwords)
  std::string autocomplete;        // e.g. username, current-password, one-time-code
  std::string hint;                // shown under the label, tied with aria-describedby
  std::string inputMode;           // e.g. numeric
  bool required = true;
};

struct Form {
  std::string action;              // a path with its query, as it goes into the attribute
  Params hidden;                   // hidden inputs (the OAuth request, the CSRF token)
  std::vector<Field> fields;
  std::string submit;              // the button's text
};

struct Page {
  std::string title;               // <title> and <h1>
  std::string error;               // shown first, role="alert"
  std::string notice;              // informational, role="status"
  std::vector<std::string> paragraphs;
  std::string preformatted;        // e.g. a TOTP secret, in <code>
  std::string imageSvg;            // trusted SVG markup we generated (a QR code), or ""
  std::string imageLabel;          // its accessible name
  std::vector<Form> forms;
  std::vector<std::pair<std::string, std::string>> links;  // href, text
};

// The whole document (<!doctype html> ... </html>).
std::string renderPage(const Page& page);

// An inline SVG QR code of `text` (otpauth:// URIs), or "" when tetherd was built without
// libqrencode or the text does not fit; the page then shows the secret as text only.
std::string qrCodeSvg(std::string_view text);

}  // namespace tether::server::idp
