// Hosted UI pages and web codecs; see hosted_ui_html.h.
#include "idp/hosted_ui_html.h"

#include <cctype>

#if TETHER_HAVE_QRENCODE
#include <qrencode.h>
#endif

namespace tether::server::idp {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> formDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hexValue(s[i + 1]), lo = hexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

// The shared style: readable, high contrast, a focus ring that is always visible.
constexpr std::string_view kStyle =
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
    "color:#111;background:#fff}"
    "label{display:block;font-weight:600;margin-top:1rem}"
    "input{display:block;width:100%;box-sizing:border-box;font-size:1rem;padding:.5rem;margin-top:.25rem;"
    "border:1px solid #555;border-radius:4px}"
    "button{margin-top:1.25rem;font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#0b5394;"
    "color:#fff;cursor:pointer}"
    "a{color:#0b5394}"
    ":focus-visible,input:focus,button:focus,a:focus{outline:3px solid #f5a623;outline-offset:2px}"
    ".error{border:2px solid #b00020;padding:.5rem .75rem;color:#b00020}"
    ".notice{border:2px solid #1b5e20;padding:.5rem .75rem;color:#1b5e20}"
    ".hint{font-weight:400;font-size:.9rem;color:#333}"
    "code{font-size:1.1rem;word-break:break-all}"
    "nav{margin-top:1.5rem}nav a{display:block;margin-top:.5rem}";

void renderForm(std::string& out, const Form& form, int index) {
  out += "<form method=\"post\" action=\"" + htmlEscape(form.action) + "\">\n";
  for (const auto& [name, value] : form.hidden)
    out += "<input type=\"hidden\" name=\"" + htmlEscape(name) + "\" value=\"" + htmlEscape(value) + "\">\n";
  for (const Field& f : form.fields) {
    std::string id = "f";
    id += std::to_string(index);
    id += "-";
    id += f.name;
    out += "<label for=\"" + htmlEscape(id) + "\">" + htmlEscape(f.label);
    if (!f.hint.empty()) out += " <span class=\"hint\" id=\"" + htmlEscape(id) + "-hint\">" + htmlEscape(f.hint) + "</span>";
    out += "</label>\n<input id=\"" + htmlEscape(id) + "\" name=\"" + htmlEscape(f.name) + "\" type=\"" +
           htmlEscape(f.type) + "\"";
    if (!f.value.empty() && f.type != "password") out += " value=\"" + htmlEscape(f.value) + "\"";
    if (!f.autocomplete.empty()) out += " autocomplete=\"" + htmlEscape(f.autocomplete) + "\"";
    if (!f.inputMode.empty()) out += " inputmode=\"" + htmlEscape(f.inputMode) + "\"";
    if (!f.hint.empty()) out += " aria-describedby=\"" + htmlEscape(id) + "-hint\"";
    if (f.required) out += " required";
    out += ">\n";
  }
  out += "<button type=\"submit\">" + htmlEscape(form.submit) + "</button>\n</form>\n";
}

}  // namespace

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string urlEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string encodeParams(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += urlEncode(k) + "=" + urlEncode(v);
  }
  return out;
}

std::optional<Params> parseForm(std::string_view body) {
  Params out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t amp = std::min(body.find('&', pos), body.size());
    std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::optional<std::string> name = formDecode(pair.substr(0, eq));
    std::optional<std::string> value = formDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

const std::string* findParam(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}

std::map<std::string, std::string> parseCookies(std::string_view header) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = std::min(header.find(';', pos), header.size());
    std::string_view item = header.substr(pos, semi - pos);
    pos = semi + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
  return out;
}

std::string renderPage(const Page& page) {
  std::string out =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"referrer\" content=\"no-referrer\">\n<title>" +
      htmlEscape(page.title) + "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n<main>\n<h1>" +
      htmlEscape(page.title) + "</h1>\n";
  if (!page.error.empty()) out += "<p class=\"error\" role=\"alert\">" + htmlEscape(page.error) + "</p>\n";
  if (!page.notice.empty()) out += "<p class=\"notice\" role=\"status\">" + htmlEscape(page.notice) + "</p>\n";
  for (const std::string& p : page.paragraphs) out += "<p>" + htmlEscape(p) + "</p>\n";
  if (!page.imageSvg.empty())
    out += "<figure role=\"img\" aria-label=\"" + htmlEscape(page.imageLabel) + "\">" + page.imageSvg + "</figure>\n";
  if (!page.preformatted.empty()) out += "<p><code>" + htmlEscape(page.preformatted) + "</code></p>\n";
  for (size_t i = 0; i < page.forms.size(); ++i) renderForm(out, page.forms[i], static_cast<int>(i));
  if (!page.links.empty()) {
    out += "<nav aria-label=\"More options\">\n";
    for (const auto& [href, text] : page.links)
      out += "<a href=\"" + htmlEscape(href) + "\">" + htmlEscape(text) + "</a>\n";
    out += "</nav>\n";
  }
  out += "</main>\n</body>\n</html>\n";
  return out;
}

std::string qrCodeSvg(std::string_view text) {
#if TETHER_HAVE_QRENCODE
  std::string input(text);
  QRcode* code = QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (!code) return "";
  const int n = code->width, quiet = 4, size = n + 2 * quiet;
  std::string path;
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x)
      if (code->data[y * n + x] & 1)
      {
        path += 'M';
        path += std::to_string(x + quiet);
        path += ' ';
        path += std::to_string(y + quiet);
        path += "h1v1h-1z";
      }
  QRcode_free(code);
  std::string s = std::to_string(size);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + s + " " + s +
         "\" width=\"200\" height=\"200\" shape-rendering=\"crispEdges\"><rect width=\"" + s + "\" height=\"" + s +
         "\" fill=\"#fff\"/><path d=\"" + path + "\" fill=\"#000\"/></svg>";
#else
  (void)text;
  return "";
#endif
}

}  // namespace tether::server::idp
