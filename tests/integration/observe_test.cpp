// Issue 16, point 2 ("Observe"), against the real tetherd over loopback: the request latency
// histograms move on every surface, errors are counted by the name the client sees, open
// connections by protocol, process and store metrics are present and plausible, JSON log lines
// carry the x-amzn-RequestId of their request, /readyz follows the store (both backends, with
// PostgreSQL stopped and started again), and docs/operations.md plus the Grafana dashboard
// name only families that /metrics exports (and /metrics none that the docs leave out).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_test_client.h"
#include "pg_test_cluster.h"
#include "raw_conn.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace std::chrono_literals;

// Every sample of a /metrics page: series (name plus labels, as written) -> value.
std::map<std::string, double> samples(const std::string& page) {
  std::map<std::string, double> out;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

// The families a /metrics page declares (# TYPE lines).
std::set<std::string> families(const std::string& page) {
  std::set<std::string> out;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("# TYPE ")) out.insert(line.substr(7, line.find(' ', 7) - 7));
  return out;
}

std::string metricsPage(int port) {
  HttpReply r = httpRequest(port, "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  size_t body = r.raw.find("\r\n\r\n");
  return body == std::string::npos ? "" : r.raw.substr(body + 4);
}

double value(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  return it == m.end() ? -1 : it->second;
}

std::string header(const std::string& raw, const std::string& lowerName) {
  std::istringstream in(raw);
  for (std::string line; std::getline(in, line) && line != "\r";) {
    std::string lower = line;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.starts_with(lowerName + ":")) {
      std::string v = line.substr(lowerName.size() + 1);
      while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
      return v;
    }
  }
  return "";
}

HttpReply identityCall(int port, const std::string& target, const nlohmann::json& body, const std::string& prefix =
                                                                                           "AWSCognitoIdentityService.") {
  return httpRequest(port, "POST", "/",
                     {{"Host", "127.0.0.1"}, {"Content-Type", "application/x-amz-json-1.1"},
                      {"X-Amz-Target", prefix + target}},
                     body.dump());
}

// A record written over the native protocol (pull for the session token, then push).
Result<proto::UpdateRecordsResponse> writeRecord(WsTestClient& c, const std::string& ds, const std::string& key) {
  auto p = c.callAs<proto::ListRecordsResponse>(proto::ListRecordsRequest{ds, 0, 0, ""});
  if (!p.isOk()) return p.status();
  return c.callAs<proto::UpdateRecordsResponse>(proto::UpdateRecordsRequest{
      ds, p->syncSessionToken, "dev", {RecordPatch{PatchOp::kReplace, key, "v", 0, 1}}});
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string sourceRoot() {
  const char* root = std::getenv("TETHER_SOURCE_ROOT");
  return root ? root : ".";
}

class ObserveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = TetherdProcess::start();
    ASSERT_NE(server_, nullptr);
  }
  // Some traffic on every surface: ops, Cognito Identity (ok, an error, an unknown operation),
  // Cognito Sync, Cognito User Pools and the native protocol (including a record batch).
  void traffic() {
    const int port = server_->port();
    EXPECT_EQ(httpRequest(port, "GET", "/healthz").status, 200);
    HttpReply ok = identityCall(port, "GetId", {{"IdentityPoolId", server_->poolId()}});
    ASSERT_EQ(ok.status, 200) << ok.raw;
    HttpReply missing = identityCall(port, "GetId", {{"IdentityPoolId", "us-east-1:00000000-0000-4000-8000-000000000000"}});
    EXPECT_EQ(missing.status, 400) << missing.raw;
    EXPECT_EQ(missing.body.value("__type", ""), "ResourceNotFoundException") << missing.raw;
    EXPECT_EQ(identityCall(port, "NoSuchOperationAtAll", nlohmann::json::object()).status, 400);
    // Unsigned: refused, but routed (and timed) as ListDatasets.
    HttpReply sync = httpRequest(port, "GET",
                                 "/identitypools/" + server_->poolId() + "/identities/" +
                                     ok.body.value("IdentityId", "") + "/datasets",
                                 {{"Host", "127.0.0.1"}});
    EXPECT_GE(sync.status, 400) << sync.raw;
    HttpReply idp = identityCall(port, "DescribeUserPool", {{"UserPoolId", "us-east-1_nosuchpool"}},
                                 "AWSCognitoIdentityProviderService.");
    EXPECT_GE(idp.status, 400) << idp.raw;

    auto ws = WsTestClient::connect(server_->url());
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->loginAsNewGuest(server_->poolId()).isOk());
    auto written = writeRecord(*ws, "settings", "theme");
    ASSERT_TRUE(written.isOk()) << written.status();
    auto described = ws->call(proto::DescribeDatasetRequest{"no-such-dataset"});
    ASSERT_TRUE(described.isOk());
  }

  std::unique_ptr<TetherdProcess> server_;
};

TEST_F(ObserveTest, RequestHistogramsMovePerSurfaceAndOperation) {
  traffic();
  auto m = samples(metricsPage(server_->port()));
  auto count = [&](const std::string& surface, const std::string& op) {
    return value(m, "tether_request_duration_seconds_count{surface=\"" + surface + "\",operation=\"" + op + "\"}");
  };
  EXPECT_GE(count("ops", "healthz"), 1);
  EXPECT_GE(count("cognito-identity", "GetId"), 2);
  EXPECT_GE(count("cognito-identity", "other"), 1);  // NoSuchOperationAtAll folded
  EXPECT_GE(count("cognito-sync", "ListDatasets"), 1);
  EXPECT_GE(count("cognito-idp", "DescribeUserPool"), 1);
  EXPECT_GE(count("native", "GetId"), 1);
  EXPECT_GE(count("native", "Authenticate"), 1);
  EXPECT_GE(count("native", "UpdateRecords"), 1);
  // The +Inf bucket is the count; the smallest bucket never exceeds it; the sum is positive.
  EXPECT_EQ(value(m, "tether_request_duration_seconds_bucket{surface=\"native\",operation=\"UpdateRecords\",le=\"+Inf\"}"),
            count("native", "UpdateRecords"));
  EXPECT_LE(value(m, "tether_request_duration_seconds_bucket{surface=\"native\",operation=\"UpdateRecords\",le=\"0.001\"}"),
            count("native", "UpdateRecords"));
  EXPECT_GT(value(m, "tether_request_duration_seconds_sum{surface=\"native\",operation=\"UpdateRecords\"}"), 0);
  // No label value made of a client's invented operation name.
  for (const auto& [series, v] : m) EXPECT_EQ(series.find("NoSuchOperationAtAll"), std::string::npos) << series;

  // Errors by the name the client saw.
  EXPECT_EQ(value(m, "tether_request_errors_total{surface=\"cognito-identity\",error=\"ResourceNotFoundException\"}"), 1);
  EXPECT_EQ(value(m, "tether_request_errors_total{surface=\"cognito-identity\",error=\"UnknownOperationException\"}"), 1);
  EXPECT_GE(value(m, "tether_request_errors_total{surface=\"native\",error=\"NotFound\"}"), 1);

  // Store transactions of the batch, on SQLite, and its commit group.
  EXPECT_GE(value(m, "tether_store_transaction_duration_seconds_count{backend=\"sqlite\",kind=\"write\",outcome=\"commit\"}"), 1);
  EXPECT_GE(value(m, "tether_store_commit_group_size_count{backend=\"sqlite\"}"), 1);
  EXPECT_GE(value(m, "tether_requests_total{protocol=\"http\"}"), 6);
  EXPECT_GE(value(m, "tether_requests_total{protocol=\"websocket_native\"}"), 5);
}

TEST_F(ObserveTest, ConnectionsByProtocolAndProcessMetrics) {
  auto ws = WsTestClient::connect(server_->url());
  ASSERT_NE(ws, nullptr);
  auto m = samples(metricsPage(server_->port()));
  EXPECT_EQ(value(m, "tether_connections_open{protocol=\"websocket_native\"}"), 1);
  EXPECT_GE(value(m, "tether_connections_open{protocol=\"http\"}"), 1);  // the scrape itself
  EXPECT_GE(value(m, "tether_connections_total{protocol=\"websocket_native\"}"), 1);
  ws->close();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (value(m, "tether_connections_open{protocol=\"websocket_native\"}") != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    m = samples(metricsPage(server_->port()));
  }
  EXPECT_EQ(value(m, "tether_connections_open{protocol=\"websocket_native\"}"), 0);

  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(value(m, "process_resident_memory_bytes"), 1e6);
  EXPECT_LT(value(m, "process_resident_memory_bytes"), 1e10);
  EXPECT_GE(value(m, "process_virtual_memory_bytes"), value(m, "process_resident_memory_bytes"));
  EXPECT_GE(value(m, "process_cpu_seconds_total"), 0);
  EXPECT_LT(value(m, "process_cpu_seconds_total"), 600);
  EXPECT_GT(value(m, "process_open_fds"), 3);
  EXPECT_LE(value(m, "process_open_fds"), value(m, "process_max_fds"));
  EXPECT_GT(value(m, "process_start_time_seconds"), now - 300);
  EXPECT_LT(value(m, "process_start_time_seconds"), now + 5);
}

TEST_F(ObserveTest, LiveSyncNoticesAreCounted) {
  auto writer = WsTestClient::connect(server_->url());
  ASSERT_NE(writer, nullptr);
  auto identity = writer->loginAsNewGuest(server_->poolId());
  ASSERT_TRUE(identity.isOk());
  auto follower = WsTestClient::connect(server_->url());
  ASSERT_NE(follower, nullptr);
  ASSERT_TRUE(follower->loginAs(*identity).isOk());
  ASSERT_TRUE(follower->call(proto::SubscribeRequest{{"notes"}, ""}).isOk());
  ASSERT_TRUE(writeRecord(*writer, "notes", "k").isOk());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (follower->pushes().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(follower->pushes().empty());
  auto m = samples(metricsPage(server_->port()));
  EXPECT_GE(value(m, "tether_live_sync_notices_total{result=\"sent\"}"), 1);
  EXPECT_GE(value(m, "tether_live_sync_notices_total{result=\"dropped\"}"), 0);
}

TEST(ObserveLogs, JsonLinesCarryTheRequestIdOfTheResponse) {
  TetherdOptions o;
  o.extraArgs = {"--log-format", "json"};
  auto server = TetherdProcess::start(o);
  ASSERT_NE(server, nullptr);
  HttpReply ok = identityCall(server->port(), "GetId", {{"IdentityPoolId", server->poolId()}});
  ASSERT_EQ(ok.status, 200);
  HttpReply bad = identityCall(server->port(), "GetId", {{"IdentityPoolId", "us-east-1:00000000-0000-4000-8000-000000000000"}});
  ASSERT_EQ(bad.status, 400);
  HttpReply health = httpRequest(server->port(), "GET", "/healthz");
  const std::string okId = header(ok.raw, "x-amzn-requestid");
  const std::string badId = header(bad.raw, "x-amzn-requestid");
  const std::string healthId = header(health.raw, "x-amzn-requestid");
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  ASSERT_TRUE(std::regex_match(okId, uuid)) << ok.raw;
  ASSERT_TRUE(std::regex_match(badId, uuid)) << bad.raw;
  ASSERT_TRUE(std::regex_match(healthId, uuid)) << health.raw;
  EXPECT_NE(okId, badId);
  // The native protocol: each request frame gets its own ID in the log.
  auto ws = WsTestClient::connect(server->url());
  ASSERT_NE(ws, nullptr);
  ASSERT_TRUE(ws->loginAsNewGuest(server->poolId()).isOk());
  server->stop();

  std::ifstream log(server->logFile());
  std::map<std::string, int> linesById;
  int lines = 0;
  std::set<std::string> nativeIds;
  bool workerLineOfBad = false;  // written on the worker, before the answer
  for (std::string line; std::getline(log, line);) {
    if (line.empty() || line[0] != '{') continue;  // stdout startup lines share the file
    ++lines;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    ASSERT_TRUE(j.contains("ts") && j["ts"].is_string()) << line;
    ASSERT_TRUE(j.contains("level") && j["level"].is_string()) << line;
    ASSERT_TRUE(j.contains("msg") && j["msg"].is_string()) << line;
    EXPECT_EQ(j.value("logger", ""), "tetherd") << line;
    if (j.contains("request_id")) {
      const std::string id = j["request_id"].get<std::string>();
      linesById[id]++;
      if (j["msg"].get<std::string>().starts_with("native ")) nativeIds.insert(id);
      if (id == badId && j["msg"].get<std::string>().starts_with("cognito-identity GetId -> ResourceNotFoundException"))
        workerLineOfBad = true;
    }
  }
  EXPECT_GT(lines, 3);
  EXPECT_GE(linesById[okId], 1) << "no log line of request " << okId;
  EXPECT_GE(linesById[badId], 2) << "the error line and the access line of " << badId;
  EXPECT_GE(linesById[healthId], 1);
  EXPECT_TRUE(workerLineOfBad) << "the worker's log line of " << badId << " does not carry its ID";
  EXPECT_GE(nativeIds.size(), 3u) << "getId, getToken, authenticate: one ID each";
}

// A request refused for its framing, before any handler, still gets a request ID.
TEST_F(ObserveTest, FramingRejectionsCarryARequestId) {
  auto c = RawConn::open(server_->port());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"));
  std::string r = c->readResponse();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 400")) << r;
  EXPECT_TRUE(std::regex_search(r, std::regex("\r\nx-amzn-RequestId: [0-9a-f-]{36}\r\n", std::regex::icase))) << r;
}

TEST(ObserveLogs, BadLogFormatIsRefused) {
  std::string out, err;
  int rc = TetherdProcess::runTool({"serve", "--log-format", "xml", "--listen", "127.0.0.1:0"}, &out, &err);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("text or json"), std::string::npos) << err;
}

TEST_F(ObserveTest, ReadyzOnSqlite) {
  HttpReply r = httpRequest(server_->port(), "GET", "/readyz");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body.value("status", ""), "ready");
  EXPECT_EQ(httpRequest(server_->port(), "POST", "/readyz").status, 405);
}

// Stops the process's shared PostgreSQL cluster: the last test of this binary that uses it.
TEST(ObservePg, ReadyzFollowsPostgresWhileHealthzStaysUp) {
  PG_TEST_OR_SKIP(cluster);
  if (cluster->external()) GTEST_SKIP() << "cannot stop an external PostgreSQL";
  auto schema = cluster->freshSchema("readyz");
  ASSERT_TRUE(schema.isOk()) << schema.status();
  TetherdOptions o;
  o.store = cluster->url(*schema);
  o.extraArgs = {"--issuer", "http://tether-pg.test"};
  auto server = TetherdProcess::start(o);
  ASSERT_NE(server, nullptr);
  HttpReply ready = httpRequest(server->port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.raw;
  // Some PostgreSQL traffic: store metrics for the postgresql backend.
  auto ws = WsTestClient::connect(server->url());
  ASSERT_NE(ws, nullptr);
  ASSERT_TRUE(ws->loginAsNewGuest(server->poolId()).isOk());
  ASSERT_TRUE(writeRecord(*ws, "d", "k").isOk());
  auto m = samples(metricsPage(server->port()));
  EXPECT_GE(value(m, "tether_store_transaction_duration_seconds_count{backend=\"postgresql\",kind=\"write\",outcome=\"commit\"}"), 1);
  EXPECT_GE(value(m, "tether_store_commit_group_size_count{backend=\"postgresql\"}"), 1);

  ASSERT_TRUE(cluster->stop().isOk());
  HttpReply down = httpRequest(server->port(), "GET", "/readyz");
  HttpReply alive = httpRequest(server->port(), "GET", "/healthz");
  Status restarted = cluster->start();
  EXPECT_EQ(down.status, 503) << down.raw;
  EXPECT_EQ(down.body.value("status", ""), "unavailable") << down.raw;
  EXPECT_FALSE(down.body.value("reason", "").empty()) << down.raw;
  EXPECT_EQ(alive.status, 200) << alive.raw;
  ASSERT_TRUE(restarted.isOk()) << restarted;
  // Back once the database is: the store reconnects.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int status = 0;
  while ((status = httpRequest(server->port(), "GET", "/readyz").status) != 200 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  EXPECT_EQ(status, 200);
}

// docs/grafana/tetherd-dashboard.json names only families /metrics exports, and
// docs/operations.md describes every family /metrics exports.
TEST_F(ObserveTest, DashboardAndDocsMatchTheExportedFamilies) {
  traffic();
  const std::string page = metricsPage(server_->port());
  const std::set<std::string> exported = families(page);
  ASSERT_GT(exported.size(), 20u);

  nlohmann::json dashboard = nlohmann::json::parse(readFile(sourceRoot() + "/docs/grafana/tetherd-dashboard.json"), nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << "docs/grafana/tetherd-dashboard.json is not JSON";
  std::vector<std::string> exprs;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "expr" && it.value().is_string()) exprs.push_back(it.value());
        walk(it.value());
      }
    } else if (j.is_array()) {
      for (const auto& e : j) walk(e);
    }
  };
  walk(dashboard);
  ASSERT_GE(exprs.size(), 8u);
  const std::regex name("\\b((?:tether|process)_[a-z_]+)\\b");
  std::set<std::string> used;
  for (const std::string& e : exprs)
    for (std::sregex_iterator it(e.begin(), e.end(), name), end; it != end; ++it) used.insert((*it)[1]);
  ASSERT_GE(used.size(), 8u);
  for (std::string n : used) {
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!exported.count(n) && n.ends_with(suffix)) n = n.substr(0, n.size() - std::string(suffix).size());
    EXPECT_TRUE(exported.count(n)) << "the dashboard uses " << n << ", which /metrics does not export";
  }

  const std::string docs = readFile(sourceRoot() + "/docs/operations.md");
  ASSERT_FALSE(docs.empty());
  for (const std::string& f : exported)
    EXPECT_NE(docs.find("`" + f + "`"), std::string::npos) << f << " is not described in docs/operations.md";
}

}  // namespace
}  // namespace tether::testing
