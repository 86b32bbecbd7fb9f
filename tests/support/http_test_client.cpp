// See http_test_client.h.
#include "http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace tether::testing {

HttpReply httpRequest(int port, const std::string& method, const std::string& path,
                      const std::map<std::string, std::string>& headers, const std::string& body) {
  HttpReply out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return out;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::write(fd, req.data() + off, req.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (out.raw.rfind("HTTP/1.1 ", 0) == 0) out.status = std::atoi(out.raw.c_str() + 9);
  size_t split = out.raw.find("\r\n\r\n");
  if (split != std::string::npos) {
    // A chunked body carries size lines around the JSON: take the outermost object.
    std::string payload = out.raw.substr(split + 4);
    size_t a = payload.find('{'), b = payload.rfind('}');
    if (a != std::string::npos && b != std::string::npos && a < b)
      out.body = nlohmann::json::parse(payload.substr(a, b - a + 1), nullptr, false);
  }
  return out;
}

std::string httpGet(int port, const std::string& path) {
  return httpRequest(port, "GET", path, {{"Host", "127.0.0.1"}}).raw;
}

}  // namespace tether::testing
