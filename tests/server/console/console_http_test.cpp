// ConsoleHttp in process (issue 17): the cookie gets Secure on a TLS listener (the integration
// tests cover plain HTTP only: their client speaks no TLS), and SignInThrottle's lockout grows
// exponentially per key, counts unknown names like real ones and is cleared by a success.
#include <gtest/gtest.h>

#include <future>

#include "common/clock.h"
#include "common/work_pool.h"
#include "console/console_http.h"
#include "console/password.h"
#include "console/sign_in_throttle.h"
#include "storage/sqlite_store.h"
#include "../storage/temp_dir.h"

namespace tether::server::console {
namespace {

HttpResponse call(ConsoleHttp& http, HttpRequest request) {
  std::promise<HttpResponse> done;
  http.handle(std::move(request), [&done](HttpResponse r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

std::string headerOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

TEST(ConsoleHttpTest, CookieIsSecureOnlyUnderTls) {
  testing::TempDir dir;
  auto store = openSqliteStore(dir.path() / "tether.db");
  ASSERT_TRUE(store.isOk()) << store.status();
  auto hash = hashPassword("a long enough password");
  ASSERT_TRUE(hash.isOk());
  ASSERT_TRUE((*store)->createOperator({"ops", *hash, 1, 0}).isOk());
  WorkPool pool(2);
  SystemClock clock;
  for (bool tls : {true, false}) {
    ConsoleHttpOptions options;
    options.tls = tls;
    ConsoleHttp http(**store, pool, clock, options, {}, nullptr);
    HttpRequest req;
    req.method = "POST";
    req.path = "/console/api/session";
    req.peer = "127.0.0.1";
    req.body = R"({"username":"ops","password":"a long enough password"})";
    HttpResponse r = call(http, req);
    ASSERT_EQ(r.status, 200) << r.body;
    std::string cookie = headerOf(r, "Set-Cookie");
    EXPECT_EQ(cookie.find("; Secure") != std::string::npos, tls) << cookie;
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  }
  pool.join();
}

TEST(SignInThrottleTest, ExponentialPerKeyAndClearedBySuccess) {
  SignInThrottle t(1000);
  for (int i = 0; i < 4; ++i) t.recordFailure("nobody", "10.0.0.1", 0);
  EXPECT_EQ(t.retryAfterMs("nobody", "10.0.0.1", 0), 0) << "four failures are free";
  t.recordFailure("nobody", "10.0.0.1", 0);
  EXPECT_EQ(t.retryAfterMs("nobody", "10.0.0.1", 0), 1000);
  EXPECT_EQ(t.retryAfterMs("nobody", "10.0.0.2", 0), 1000) << "the name is locked from any address";
  EXPECT_EQ(t.retryAfterMs("other", "10.0.0.1", 0), 1000) << "the address is locked for any name";
  EXPECT_EQ(t.retryAfterMs("other", "10.0.0.2", 0), 0);
  t.recordFailure("nobody", "10.0.0.1", 1000);
  EXPECT_EQ(t.retryAfterMs("nobody", "10.0.0.3", 1000), 2000);
  t.recordFailure("nobody", "10.0.0.1", 3000);
  EXPECT_EQ(t.retryAfterMs("nobody", "10.0.0.3", 3000), 4000);
  for (int i = 0; i < 40; ++i) t.recordFailure("nobody", "10.0.0.1", 10000);
  EXPECT_EQ(t.retryAfterMs("nobody", "10.0.0.3", 10000), SignInThrottle::kMaxLockoutMs);
  t.recordSuccess("nobody", "10.0.0.1");
  EXPECT_EQ(t.retryAfterMs("nobody", "10.0.0.1", 10000), 0);
}

}  // namespace
}  // namespace tether::server::console
