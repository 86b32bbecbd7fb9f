// `tetherd serve`: wires storage, auth, sync and the network layer together and runs until
// SIGINT or SIGTERM. Startup lines on stdout (the listening URL and the pools) are what an
// operator, a script or a test reads; logs go to stderr.
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <libwebsockets.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "app/sd_notify.h"
#include "auth/identity_service.h"
#include "auth/ids.h"
#include "auth/login_providers.h"
#include "auth/session_token_signer.h"
#include "auth/token_issuer.h"
#include "common/clock.h"
#include "common/work_pool.h"
#include "net/http_observer.h"
#include "net/log_format.h"
#include "net/native_handler.h"
#include "net/readiness.h"
#include "net/net_server.h"
#include "net/ops_http.h"
#include "cognito/cognito_http.h"
#include "console/console_http.h"      // the web console (issue 17)
#include "console/console_sections.h"
#include "console/console_data.h"        // i17-data's sections, wired for the browser test
#include "console/console_identities.h"
#include "console/first_operator.h"
#include "console/usage_sampler.h"
#include "cognito/request_auth.h"
#include "cognito/temporary_credentials.h"
#include "idp/code_delivery.h"
#include "idp/crypto/code_hash.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/crypto/sealer.h"
#include "idp/idp_api.h"
#include "idp/hosted_ui.h"
#include "idp/idp_http.h"
#include "idp/idp_login_verifier.h"
#include "events/change_catch_up.h"
#include "events/cluster_fanout.h"
#include "events/pg_change_bus.h"
#include "net/server_metrics.h"
#include "outbound/trigger_executor.h"
#include "net/tuning.h"
#include "push/push_service.h"
#include "app/open_store.h"
#include "storage/pg_leader_lock.h"
#include "streams/feed_http.h"
#include "streams/feed_sink.h"
#include "streams/kinesis_sink.h"
#include "streams/outbox_writer.h"
#include "streams/publisher.h"
#include "streams/webhook_sink.h"
#include "sync/sync_service.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {
namespace {

void setupLogging(LogLevel level, LogFormat format) {
  auto logger = spdlog::stderr_logger_mt("tetherd");
  spdlog::set_default_logger(logger);
  // Text or JSON lines, with the request ID while a request is handled (net/log_format.h).
  spdlog::set_formatter(makeLogFormatter(format));
  switch (level) {
    case LogLevel::kTrace: spdlog::set_level(spdlog::level::trace); break;
    case LogLevel::kDebug: spdlog::set_level(spdlog::level::debug); break;
    case LogLevel::kInfo: spdlog::set_level(spdlog::level::info); break;
    case LogLevel::kWarn: spdlog::set_level(spdlog::level::warn); break;
    case LogLevel::kError: spdlog::set_level(spdlog::level::err); break;
  }
  // libwebsockets' own log: errors and warnings only, into our log (process-global).
  lws_set_log_level(LLL_ERR | LLL_WARN, [](int lvl, const char* line) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (lvl & LLL_ERR) spdlog::error("lws: {}", s);
    else spdlog::warn("lws: {}", s);
  });
}

// With port 0 the issuer URL needs the real port before the listener exists: ask the kernel
// for a free one. (A tiny window exists in which another process could take it; tests that
// start many servers at once retry.)
int pickFreePort(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Pools from the config file are written to the store (the file wins for its pools). With no
// pool at all, a demo pool that allows guests is created so that `make run` serves at once.
std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "tetherd";
  std::string name;
  for (const char* p = buf; *p != '\0' && name.size() < 48; ++p) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    name += ok ? c : '-';
  }
  return name;
}

std::string randomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string clusterMetricsText(const PgChangeBus::Stats& bus, int64_t catchUpSent, int64_t catchUpErrors,
                               int64_t received) {
  std::string out;
  auto line = [&out](const char* name, const char* type, const char* help, int64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(v) + "\n";
  };
  line("tether_cluster_notices_published_total", "counter", "Change notices sent to the other nodes (NOTIFY).",
       bus.published);
  line("tether_cluster_notices_received_total", "counter", "Change notices received from other nodes.", received);
  line("tether_cluster_notices_dropped_total", "counter",
       "Change notices not sent (bus connection down or queue full); the catch-up covers them.", bus.dropped);
  line("tether_cluster_bus_connected", "gauge", "1 while this node listens for other nodes' notices.",
       bus.connected ? 1 : 0);
  line("tether_cluster_bus_reconnects_total", "counter", "Times the listening connection was re-established.",
       bus.reconnects);
  line("tether_cluster_catch_up_passes_total", "counter", "Catch-up passes over the followed datasets.",
       bus.catchUps);
  line("tether_cluster_catch_up_notices_total", "counter",
       "Notifications sent because a catch-up found a change no notice had announced.", catchUpSent);
  line("tether_cluster_catch_up_errors_total", "counter", "Catch-up reads of an identity that failed.",
       catchUpErrors);
  return out;
}

// A pool's `sync_trigger` in the file is stored as SetCognitoEvents stores it (the file wins
// for its pools; GetCognitoEvents shows it). Pools without the key keep what was set by API.
Status applySyncTriggers(Store& store, const ServerConfig& config) {
  for (const PoolConfig& p : config.pools) {
    if (p.syncTrigger.empty()) continue;
    std::string events = nlohmann::json{{"SyncTrigger", p.syncTrigger}}.dump();
    TETHER_TRY(std::optional<std::string> stored, store.getMeta(cognitoEventsMetaKey(p.id)));
    if (stored != events) TETHER_RETURN_IF_ERROR(store.putMeta(cognitoEventsMetaKey(p.id), events));
  }
  return Status::ok();
}

Status ensurePools(Store& store, const ServerConfig& config, const Clock& clock) {
  for (const PoolConfig& p : config.pools) {
    TETHER_TRY(std::optional<PoolInfo> existing, store.getPool(p.id));
    PoolInfo info{p.id, p.name, p.allowGuests, existing ? existing->createdMs : clock.nowMs()};
    if (!existing || !(*existing == info)) TETHER_RETURN_IF_ERROR(store.putPool(info));
    // The file's developer provider wins over one set with `tetherd pool set-developer-provider`.
    if (!p.developerProvider.empty()) {
      TETHER_TRY(std::string stored, store.getPoolDeveloperProvider(p.id));
      if (stored != p.developerProvider) TETHER_RETURN_IF_ERROR(store.setPoolDeveloperProvider(p.id, p.developerProvider));
    }
  }
  TETHER_RETURN_IF_ERROR(applySyncTriggers(store, config));
  TETHER_TRY(std::vector<PoolInfo> pools, store.listPools());
  if (pools.empty()) {
    // Several nodes may start at once on one empty database: the first to record its demo
    // pool's ID wins and every node creates that one pool (idempotent), never one each.
    TETHER_TRY(std::string id, store.putMetaIfAbsent("demo_pool", newRandomId("local")));
    TETHER_TRY(std::optional<PoolInfo> existing, store.getPool(id));
    if (!existing) {
      TETHER_RETURN_IF_ERROR(store.putPool(PoolInfo{id, "demo", true, clock.nowMs()}));
      spdlog::info("created demo pool {} (guests allowed)", id);
    }
  }
  return Status::ok();
}

// The admin listener (--admin-listen, issue 17) serves the console only: a WebSocket upgrade
// there is closed at once.
class RefuseWebSockets final : public WsHandler {
 public:
  void attach(NetServer& server) override { server_ = &server; }
  void onOpen(ConnId conn, const std::string&) override { server_->close(conn, 1008, "the admin listener serves /console only"); }
  void onFrame(ConnId, std::string) override {}
  void onClose(ConnId) override {}

 private:
  NetServer* server_ = nullptr;
};

}  // namespace

int runServe(const ServerConfig& configIn, int idleTimeoutSeconds) {
  ServerConfig config = configIn;
  setupLogging(config.logLevel, config.logFormat);
  // Large buffers (a request body, a sync trigger's reply up to its cap) are mapped and given
  // back to the system when freed. glibc's default raises this threshold after the first such
  // free, after which each worker or trigger thread's arena keeps its largest buffer resident:
  // memory would grow with the thread count times the largest reply instead of staying bounded.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  // Block the shutdown signals in every thread we start; this thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Every connection is a file descriptor: allow as many as the hard limit permits.
  if (rlimit rl; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  if (config.listen.port == 0) {
    int port = pickFreePort(config.listen.host);
    if (port == 0) {
      std::cerr << "tetherd: cannot find a free port on " << config.listen.host << "\n";
      return 1;
    }
    config.listen.port = static_cast<uint16_t>(port);
  }

  SystemClock clock;
  // The database unreachable at start (PostgreSQL down) is an error: exit non-zero, say why.
  Result<OpenedStore> opened = openStore(config.storeUrl(), OpenMode::kCreate);
  if (!opened.isOk()) {
    std::cerr << "tetherd: " << opened.status() << "\n";
    return 1;
  }
  std::unique_ptr<Store>* store = &opened->store;
  auth::SecretStore& secrets = *opened->secrets;
  if (Status s = ensurePools(**store, config, clock); !s.isOk()) {
    std::cerr << "tetherd: " << s << "\n";
    return 1;
  }
  // Nodes that share a PostgreSQL store (docs/scale-out.md) must agree on the issuer of the
  // tokens they sign, and tell each other of changes.
  Result<StoreUrl> storeUrl = parseStoreUrl(config.storeUrl());
  const bool shared = storeUrl.isOk() && storeUrl->kind == StoreUrl::Kind::kPostgres;
  if (shared && !config.issuer) {
    std::cerr << "tetherd: with a shared PostgreSQL store every node must sign tokens as the same issuer: "
                 "set server.issuer (or --issuer) to the deployment's public URL\n";
    return 1;
  }
  std::string nodeName = config.nodeName.empty() ? hostName() : config.nodeName;
  std::string issuerUrl = config.effectiveIssuer(config.listen.port);
  Result<std::unique_ptr<TokenIssuer>> issuer = TokenIssuer::open(secrets, issuerUrl);
  if (!issuer.isOk()) {
    std::cerr << "tetherd: " << issuer.status() << "\n";
    return 1;
  }
  Result<std::unique_ptr<SessionTokenSigner>> sessions = SessionTokenSigner::open(secrets);
  if (!sessions.isOk()) {
    std::cerr << "tetherd: " << sessions.status() << "\n";
    return 1;
  }

  SyncService sync(**store, **sessions, clock);
  // Login providers: the config file's (a bad one stops the start here) plus the database's,
  // which are re-read while running (auth/login_providers.h).
  LoginProviders providers(**store, clock);
  for (const PoolConfig& p : config.pools) {
    for (const OidcProviderConfig& o : p.oidcProviders) {
      if (Status s = providers.addConfigured(p.id, o); !s.isOk()) {
        std::cerr << "tetherd: pool " << p.id << ": OIDC provider " << o.name << ": " << s.message() << "\n";
        return 1;
      }
    }
    for (const UserPoolProviderConfig& u : p.userPoolProviders) {
      if (Status s = providers.addUserPoolProvider(p.id, u); !s.isOk()) {
        std::cerr << "tetherd: pool " << p.id << ": " << s.message() << "\n";
        return 1;
      }
    }
  }
  if (Status s = providers.refresh(); !s.isOk()) spdlog::warn("cannot read OIDC providers from the database: {}", s.message());
  std::map<std::string, std::string> developerKeys;
  for (const DeveloperCredential& c : config.developerCredentials) developerKeys[c.accessKeyId] = c.secretAccessKey;
  IdentityService identities(**store, **issuer, clock, &providers);
  identities.setDeveloperKeys(developerKeys);
  ServerMetrics metrics;
  unsigned workers = std::max(tuning::kMinWorkerThreads, std::thread::hardware_concurrency());
  WorkPool pool(workers);
  NativeHandler native(identities, sync, pool, clock, metrics);
  RateLimiter limiter(config.limits, clock, &metrics);  // docs/security.md
  native.setRateLimiter(&limiter);
  // Live sync: this node's hub, and on a shared store the bus to the other nodes with its
  // catch-up (events/change_bus.h). The bus listens before the node serves.
  ChangeListener* changes = &native.changes();
  DeviceSubscriptionListener* deviceChanges = &native.changes();
  std::unique_ptr<ChangeCatchUp> catchUp;
  std::unique_ptr<ClusterFanout> fanout;
  std::atomic<ClusterFanout*> fanoutReady{nullptr};
  std::unique_ptr<PgChangeBus> bus;
  if (shared) {
    catchUp = std::make_unique<ChangeCatchUp>(**store, native.changes(), pool);
    PgChangeBusOptions busOptions;
    busOptions.conninfo = storeUrl->conninfo;
    busOptions.catchUpIntervalMs = config.catchUpIntervalMs;
    // The instance suffix keeps two nodes given the same name from dropping each other's notices.
    std::string instance = nodeName + "." + randomHex(4);
    busOptions.applicationName = "tetherd-changes:" + instance;
    Result<std::unique_ptr<PgChangeBus>> started = PgChangeBus::start(
        busOptions,
        [&fanoutReady](const ChangeNotice& n) {
          if (ClusterFanout* f = fanoutReady.load()) f->deliver(n);
        },
        [c = catchUp.get()] { c->run(); });
    if (!started.isOk()) {
      std::cerr << "tetherd: " << started.status() << "\n";
      pool.join();
      return 1;
    }
    bus = std::move(started).value();
    fanout = std::make_unique<ClusterFanout>(native.changes(), *bus, instance, store->get(), &pool);
    fanoutReady.store(fanout.get());
    changes = fanout.get();
    deviceChanges = fanout.get();
    metrics.moreText = [b = bus.get(), c = catchUp.get(), f = fanout.get()] {
      return clusterMetricsText(b->stats(), c->noticesSent(), c->readErrors(), f->noticesReceived());
    };
  }
  sync.addChangeListener(changes);
  // Sync triggers (docs/events.md): calls on the executor's own threads, the write's second half
  // back on the identity's strand.
  outbound::TriggerExecutor triggers(config.syncTriggers);
  sync.setSyncTrigger(&triggers, [&pool](const std::string& identityId, std::function<void()> fn) {
    pool.postForIdentity(identityId, std::move(fn));
  });
  metrics.moreText = [more = std::move(metrics.moreText), t = &triggers] {
    return (more ? more() : std::string()) + t->metricsText();
  };
  // Mobile push (docs/events.md "Mobile push"): only with [[push_apps]] in the config.
  std::unique_ptr<push::PushService> pushService;
  if (!config.pushApps.empty()) {
    Result<std::unique_ptr<push::PushService>> started = push::PushService::start(config.pushApps, **store, clock);
    if (!started.isOk()) {
      std::cerr << "tetherd: " << started.status() << "\n";
      bus.reset();
      pool.join();
      return 1;
    }
    pushService = std::move(started).value();
    sync.addChangeListener(pushService.get());
    metrics.moreText = [more = metrics.moreText, p = pushService.get()] { return (more ? more() : "") + p->metricsText(); };
  }
  // Cognito Streams (docs/events.md): records go to the outbox inside each write's transaction;
  // one publisher (the lease holder, on a shared store) hands them to the configured sinks.
  streams::OutboxWriter outboxWriter(config.streams.maxRecords, clock);
  sync.setCommitHook(&outboxWriter);
  std::unique_ptr<PgLeaderLock> publisherLease;
  std::function<bool()> mayPublish;
  if (shared) {
    // Any constant: the advisory lock of the stream publisher ("tether" + 2).
    publisherLease = std::make_unique<PgLeaderLock>(storeUrl->conninfo, 7310575183440880642);
    mayPublish = [l = publisherLease.get()] { return l->held(); };
  }
  streams::BulkPublisher bulkPublisher(**store, clock, config.streams.maxRecords);  // outlives publisher
  streams::Publisher publisher(**store, clock,
                               streams::PublisherOptions{config.streams.retryInitialMs, config.streams.retryMaxMs,
                                                         config.streams.pollIntervalMs},
                               mayPublish);
  publisher.setBulkPublisher(&bulkPublisher);
  std::unique_ptr<streams::FeedHttp> feedHttp;  // set before publisher.start()
  std::set<std::string> feedStreams;
  std::vector<const streams::KinesisSink*> kinesisSinks;  // owned by the publisher (metrics)
  for (const StreamConfig& sc : config.streams.streams) {
    if (sc.sink == "webhook") {
      publisher.addSink(sc.name, std::make_unique<streams::WebhookSink>(sc.name, sc.webhook));
    } else if (sc.sink == "feed") {
      feedStreams.insert(sc.name);
      publisher.addSink(sc.name, std::make_unique<streams::FeedSink>(**store, clock, sc.name, sc.feed.retentionSeconds,
                                                                     [&feedHttp](const std::string& stream) {
                                                                       if (feedHttp) feedHttp->appended(stream);
                                                                     }));
    } else {  // kinesis: [streams.kinesis] as the config parser kept it (auth/config_streams.h)
      Result<streams::KinesisSinkOptions> options = [&]() -> Result<streams::KinesisSinkOptions> {
        try {
          return streams::kinesisOptionsFromToml(toml::parse(sc.kinesisToml), sc.name);
        } catch (const toml::parse_error& e) {
          return Status::invalidArgument(std::string(e.description()));
        }
      }();
      if (!options.isOk()) {
        std::cerr << "tetherd: stream " << sc.name << ": [streams.kinesis]: " << options.status().message() << "\n";
        pool.join();
        return 1;
      }
      auto sink = std::make_unique<streams::KinesisSink>(std::move(options).value(), clock);
      kinesisSinks.push_back(sink.get());
      publisher.addSink(sc.name, std::move(sink));
    }
  }
  sync.addChangeListener(&publisher);
  {
    std::function<std::string()> before = std::move(metrics.moreText);
    metrics.moreText = [before, &publisher, &outboxWriter, kinesisSinks] {
      std::string out = before ? before() : std::string();
      out += publisher.metricsText();
      for (const streams::KinesisSink* k : kinesisSinks) out += k->metricsText();
      out += "# HELP tether_stream_outbox_refused_total Writes refused because the stream outbox was full.\n"
             "# TYPE tether_stream_outbox_refused_total counter\n"
             "tether_stream_outbox_refused_total " + std::to_string(outboxWriter.refusedFull()) + "\n";
      out += "# HELP tether_stream_records_written_total Stream records written to the outbox.\n"
             "# TYPE tether_stream_records_written_total counter\n"
             "tether_stream_records_written_total " + std::to_string(outboxWriter.written()) + "\n";
      return out;
    };
  }
  // Identity merges (both front ends) tell live-sync subscribers about moved datasets.
  identities.resolver().setChangeListener(changes);
  native.setDeviceStore(store->get());  // Cognito push-sync devices -> live sync (docs/live-sync.md)
  // The Cognito-compatible HTTP APIs (docs/cognito.md), behind the operations endpoints.
  Result<std::unique_ptr<cognito::TemporaryCredentials>> credentials =
      cognito::TemporaryCredentials::open(secrets);
  if (!credentials.isOk()) {
    std::cerr << "tetherd: " << credentials.status() << "\n";
    pool.join();
    return 1;
  }
  // Developer credentials: the config file's, then the database's (looked up per request).
  cognito::RequestAuthenticator authenticator(**credentials, developerKeys, clock, store->get());
  cognito::CognitoContext cognitoContext{**store, sync, identities, **issuer, **credentials, authenticator,
                                         clock, pool, {}};
  for (const PoolConfig& p : config.pools)
    if (!p.developerProvider.empty()) cognitoContext.developerProviders[p.id] = p.developerProvider;
  cognitoContext.deviceSubscriptions = deviceChanges;
  cognitoContext.limiter = &limiter;
  // The changes feed (docs/events.md) answers /streams/... behind the Cognito APIs.
  if (!feedStreams.empty())
    feedHttp = std::make_unique<streams::FeedHttp>(**store, authenticator, pool, clock, feedStreams);
  // Cognito User Pools (docs/user-pools.md). Token keys live with the other server keys; the
  // at-rest key (TOTP secrets, code hashes) in [user_pools] key_dir when set, so that with
  // PostgreSQL a copy of the database alone does not open what it protects.
  std::unique_ptr<auth::FileSecretStore> atRestDir;
  if (!config.userPools.keyDir.empty()) {
    atRestDir = std::make_unique<auth::FileSecretStore>(config.userPools.keyDir);
  } else if (shared) {
    spdlog::warn("user pools: [user_pools] key_dir is not set: the at-rest key (TOTP secrets, code hashes) is kept "
                 "in the database itself; set key_dir to a directory every node has (docs/user-pools.md)");
  }
  auth::SecretStore& atRestStore = atRestDir ? static_cast<auth::SecretStore&>(*atRestDir) : secrets;
  idp::IdpKeyring idpKeys(secrets, atRestStore);
  Result<std::shared_ptr<const idp::Sealer>> idpTokenSealer = idpKeys.tokenSealer();
  Result<std::shared_ptr<const idp::Sealer>> idpAtRestSealer = idpKeys.atRestSealer();
  Result<std::shared_ptr<const idp::CodeHasher>> idpCodeHasher = idpKeys.codeHasher();
  for (const Status& s : {idpTokenSealer.status(), idpAtRestSealer.status(), idpCodeHasher.status()})
    if (!s.isOk()) {
      std::cerr << "tetherd: user pool keys: " << s << "\n";
      pool.join();
      return 1;
    }
  if (config.userPools.devCodes)
    spdlog::warn("user pools: dev_codes is on: every confirmation code and temporary password is logged and served at "
                 "/_tether/cognito-idp/codes/ -- never on a server real users reach");
  idp::CodeDelivery codeDelivery(&triggers, config.userPools.codeDelivery, config.userPools.devCodes);
  idp::IdpSettings idpSettings;
  idpSettings.region = config.userPools.region;
  idpSettings.accountId = config.userPools.accountId;
  idpSettings.issuerBase = config.userPools.issuer.empty() ? issuerUrl : config.userPools.issuer;
  idpSettings.awsIssuer = config.userPools.awsIssuer;
  idpSettings.hostedUiBase = config.userPools.hostedUiUrl;
  idp::IdpContext idpContext{**store, idpKeys, *idpTokenSealer, *idpAtRestSealer, *idpCodeHasher, authenticator,
                             clock, codeDelivery, idpSettings, &limiter};
  idpContext.triggers = &triggers;  // the pools' Lambda triggers (docs/user-pool-triggers.md)
  idp::IdpApi idpApi(idpContext);
  idp::IdpLoginVerifier userPoolLogins(idpContext, idpApi.tokens());
  providers.setUserPoolVerifier(&userPoolLogins);  // identity pools' user-pool logins (spec 6.6)
  // The hosted UI and OAuth2 endpoints (docs/hosted-ui.md) behind the well-known documents.
  idp::HostedUi hostedUi(idpContext, idpApi, pool, feedHttp.get());
  idp::IdpHttp idpHttp(idpContext, idpApi.tokens(), pool, &hostedUi);
  publisher.start();
  cognito::CognitoHttp cognitoHttp(cognitoContext, &idpHttp);
  cognitoHttp.setUserPools(&idpApi);
  // ---- Console (issue 17, docs/console.md): /console on this port, or only on --admin-listen.
  const bool consoleOnAdmin = config.console.enabled && !config.console.adminListen.empty();
  std::set<std::string> configPoolIds;
  for (const PoolConfig& p : config.pools) configPoolIds.insert(p.id);
  console::PoolsSection consolePools(**store, clock, configPoolIds);
  console::LiveSection consoleLive(metrics, clock);
  console::AuditSection consoleAudit(**store);
  // i17-data's identities and data sections (console/console_identities.h, console_data.h).
  console::IdentitiesSection consoleIdentities(**store, sync);
  console::DataSection consoleData(**store, sync, **sessions, clock);
  std::vector<console::ApiSection*> consoleSections = {&consolePools, &consoleLive, &consoleAudit,
                                                       &consoleIdentities, &consoleData};
  console::ConsoleHttpOptions consoleOptions;
  consoleOptions.idleMs = int64_t{config.console.idleTimeoutMinutes} * 60 * 1000;
  consoleOptions.absoluteMs = int64_t{config.console.sessionHours} * 60 * 60 * 1000;
  consoleOptions.lockoutBaseMs = int64_t{config.console.lockoutBaseSeconds} * 1000;
  consoleOptions.tls = config.tlsCert.has_value();
  consoleOptions.enabled = config.console.enabled && !consoleOnAdmin;
  console::ConsoleHttp consoleHttp(**store, pool, clock, consoleOptions, consoleSections, &cognitoHttp);
  std::unique_ptr<console::ConsoleHttp> consoleAdminHttp;
  if (consoleOnAdmin) {
    console::ConsoleHttpOptions adminOptions = consoleOptions;
    adminOptions.enabled = true;
    adminOptions.adminOnly = true;
    consoleAdminHttp = std::make_unique<console::ConsoleHttp>(**store, pool, clock, adminOptions, consoleSections, nullptr);
  }
  std::unique_ptr<console::UsageSampler> usageSampler;
  if (config.console.enabled) {
    usageSampler = std::make_unique<console::UsageSampler>(**store, clock, config.console.usageSampleMinutes);
    usageSampler->start();
  }
  // ---- end Console
  OpsHttp ops([i = issuer->get()] { return i->jwksJson(); }, (*issuer)->discoveryJson(), metrics, &consoleHttp);
  // /readyz: one cheap read of the store, on the probe's own thread, answered within 2 s.
  ReadinessProbe readiness([s = store->get()]() -> Status { return s->getMeta("demo_pool").status(); }, 2000);
  ops.setReadiness(&readiness);
  // Every HTTP request: its request ID, latency and error metrics (net/http_observer.h).
  HttpObserver observer(ops, metrics, [](const HttpRequest& r) -> std::optional<HttpOperation> {
    auto op = cognito::CognitoHttp::classify(r);
    if (!op) return std::nullopt;
    return HttpOperation{std::move(op->first), std::move(op->second)};
  });

  NetServerOptions netOptions;
  netOptions.host = config.listen.host;
  netOptions.port = config.listen.port;
  netOptions.metrics = &metrics;
  netOptions.maxConnectionsPerAddress = config.limits.maxConnectionsPerAddress;
  netOptions.trustedProxies = config.limits.trustedProxies;
  netOptions.headTimeoutMs = config.limits.requestHeadTimeoutSeconds * 1000;
  netOptions.head.maxHeadBytes = config.limits.maxHeaderBytes;
  netOptions.head.maxHeaderCount = config.limits.maxHeaderCount;
  netOptions.head.maxTargetBytes = config.limits.maxUrlBytes;
  if (config.tlsCert) netOptions.tlsCertFile = config.tlsCert->string();
  if (config.tlsKey) netOptions.tlsKeyFile = config.tlsKey->string();
  if (idleTimeoutSeconds > 0) {
    netOptions.idleHangupSeconds = static_cast<uint16_t>(idleTimeoutSeconds);
    netOptions.idlePingSeconds = static_cast<uint16_t>(std::max(1, idleTimeoutSeconds * 2 / 5));
  }
  Result<std::unique_ptr<NetServer>> net = NetServer::start(netOptions, native, observer);
  if (!net.isOk()) {
    std::cerr << "tetherd: " << net.status() << "\n";
    readiness.stop();
    publisher.stop();
    if (feedHttp) feedHttp->stop();
    pool.join();
    return 1;
  }

  // ---- Console (issue 17): the admin listener, and the first operator on a SQLite data dir.
  std::unique_ptr<NetServer> adminNet;
  RefuseWebSockets adminWs;
  HttpObserver adminObserver(consoleAdminHttp ? static_cast<HttpHandler&>(*consoleAdminHttp) : consoleHttp, metrics,
                             [](const HttpRequest&) -> std::optional<HttpOperation> { return std::nullopt; });
  std::string adminHost;
  if (consoleAdminHttp) {
    Result<ListenAddress> adminAddress = parseListenAddress(config.console.adminListen);
    adminHost = adminAddress.isOk() ? adminAddress->host : "127.0.0.1";
    NetServerOptions adminOptions = netOptions;
    adminOptions.host = adminAddress.isOk() ? adminAddress->host : "127.0.0.1";
    adminOptions.port = adminAddress.isOk() ? adminAddress->port : 0;
    Result<std::unique_ptr<NetServer>> started = NetServer::start(adminOptions, adminWs, adminObserver);
    if (!started.isOk()) {
      std::cerr << "tetherd: admin listener " << config.console.adminListen << ": " << started.status() << "\n";
      (*net)->stop();
      usageSampler.reset();
      readiness.stop();
      publisher.stop();
      if (feedHttp) feedHttp->stop();
      pool.join();
      return 1;
    }
    adminNet = std::move(started).value();
  }
  if (config.console.enabled) {
    const bool consoleTls = (*net)->tls();
    const std::string consoleUrl = std::string(consoleTls ? "https" : "http") + "://" +
                                   (adminNet ? adminHost : config.listen.host) + ":" +
                                   std::to_string(adminNet ? adminNet->port() : (*net)->port()) + "/console";
    if (shared) {
      Result<std::vector<OperatorRow>> operators = (*store)->listOperators();
      if (operators.isOk() && operators->empty())
        spdlog::warn("console: no operator yet; create one with `tetherd admin create-user NAME --store URL`");
      std::cout << "tetherd: console at " << consoleUrl << "\n";
    } else {
      Result<std::optional<std::filesystem::path>> first =
          console::ensureFirstOperator(**store, clock, storeUrl.isOk() ? storeUrl->dataDir : config.dataDir);
      if (!first.isOk()) {
        spdlog::warn("console: cannot create the first operator: {}", first.status().message());
        std::cout << "tetherd: console at " << consoleUrl << "\n";
      } else if (first->has_value()) {
        std::cout << "tetherd: console at " << consoleUrl << " (user " << console::kFirstOperatorName
                  << ", password in " << (*first)->string() << ")\n";
      } else {
        std::cout << "tetherd: console at " << consoleUrl << "\n";
      }
    }
  }
  // ---- end Console
  const char* scheme = (*net)->tls() ? "wss" : "ws";
  std::cout << "tetherd: listening on " << scheme << "://" << config.listen.host << ":" << (*net)->port()
            << " (data in " << opened->description << ")\n";
  if (Result<std::vector<PoolInfo>> pools = (*store)->listPools(); pools.isOk()) {
    for (const PoolInfo& p : *pools)
      std::cout << "tetherd: pool " << p.id << " \"" << p.name << "\"" << (p.allowGuests ? " (guests allowed)" : "") << "\n";
  }
  std::cout << "tetherd: ready" << std::endl;
  // systemd Type=notify: `systemctl start` returns now (listeners bound, store open).
  if (Status s = sdNotify("READY=1\nSTATUS=serving on port " + std::to_string((*net)->port())); !s.isOk())
    spdlog::warn("{}", s.message());
  spdlog::info("listening port={} tls={} workers={} issuer={} node={}{}", (*net)->port(), (*net)->tls(), workers,
               issuerUrl, nodeName, shared ? " (shared store: cross-node live sync on)" : "");

  // Rotated signing keys (tetherd keys rotate, on any node) are picked up within 30 s even
  // when no token is issued here, so the JWKS this node serves publishes them in time.
  Mutex keysMu;
  std::condition_variable keysCv;
  bool keysStop = false;
  std::thread keysThread([&] {
    MutexLock lock(keysMu);
    while (!lock.waitFor(keysCv, std::chrono::seconds(30), [&] { return keysStop; })) {
      lock.unlock();
      if (Status s = (*issuer)->reload(clock.nowMs()); !s.isOk()) spdlog::warn("cannot re-read signing keys: {}", s.message());
      lock.lock();
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  {
    MutexLock lock(keysMu);
    keysStop = true;
  }
  keysCv.notify_all();
  keysThread.join();
  spdlog::info("signal {} received, shutting down", sig);
  if (Status s = sdNotify("STOPPING=1"); !s.isOk()) spdlog::warn("{}", s.message());
  native.beginShutdown();   // new requests are refused from here on
  bus.reset();              // no more notices or catch-up passes (they post to the pool)
  triggers.stop();          // running trigger calls end (<= 5 s) and post their second halves
  if (feedHttp) feedHttp->stop();  // parked long-polls answered; its hub posts no more
  pool.join();              // in-flight requests finish and queue their responses
  readiness.stop();         // pending /readyz checks answered
  (*net)->stop();           // responses are written, connections closed
  net->reset();
  if (adminNet) adminNet->stop();  // the console's admin listener (issue 17)
  adminNet.reset();
  usageSampler.reset();     // the console's usage sampler stops (issue 17)
  pushService.reset();      // no more writes to push; queued pushes are not sent
  publisher.stop();         // undelivered records stay in the outbox for the next start
  opened->secrets.reset();
  store->reset();           // database closed
  spdlog::info("stopped");
  return 0;
}

}  // namespace tether::server
