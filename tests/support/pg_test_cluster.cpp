#include "pg_test_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "storage/pg_conn.h"

namespace tether::testing {
namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string shellQuoted(const std::string& s) { return "'" + s + "'"; }  // our own paths: no quotes inside

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::mutex gSharedMu;
std::unique_ptr<PgTestCluster> gShared;
std::optional<Status> gSharedFailure;

void stopSharedAtExit() {
  std::lock_guard<std::mutex> lock(gSharedMu);
  gShared.reset();
}

}  // namespace

Result<PgTestCluster*> PgTestCluster::shared() {
  std::lock_guard<std::mutex> lock(gSharedMu);
  if (gShared) return gShared.get();
  if (gSharedFailure) return *gSharedFailure;
  Result<std::unique_ptr<PgTestCluster>> c = create();
  if (!c.isOk()) {
    gSharedFailure = c.status();
    return c.status();
  }
  gShared = std::move(*c);
  std::atexit(stopSharedAtExit);
  return gShared.get();
}

Result<std::unique_ptr<PgTestCluster>> PgTestCluster::startDedicated(bool durable) {
  std::unique_ptr<PgTestCluster> c(new PgTestCluster());
  c->durable_ = durable;
  TETHER_RETURN_IF_ERROR(c->init(/*allowExternal=*/false));
  return c;
}

long PgTestCluster::postmasterPid() const {
  if (external_) return 0;
  std::ifstream in(dir_ + "/data/postmaster.pid");
  long pid = 0;
  if (!(in >> pid)) return 0;
  return pid;
}

Result<std::unique_ptr<PgTestCluster>> PgTestCluster::create(bool allowExternal) {
  std::unique_ptr<PgTestCluster> c(new PgTestCluster());
  TETHER_RETURN_IF_ERROR(c->init(allowExternal));
  return c;
}

Status PgTestCluster::init(bool allowExternal) {
  PgTestCluster* c = this;
  if (const char* url = std::getenv("TETHER_TEST_PG_URL"); allowExternal && url != nullptr && *url != '\0') {
    c->external_ = true;
    c->baseConninfo_ = url;
    TETHER_RETURN_IF_ERROR(c->adminExec("SELECT 1"));
    return Status::ok();
  }
  if (!std::filesystem::exists(std::string(kBinDir) + "/initdb") ||
      !std::filesystem::exists(std::string(kBinDir) + "/pg_ctl"))
    return Status::unavailable(std::string("PostgreSQL 15 binaries not found in ") + kBinDir +
                               " (apt-get install postgresql; scripts/install-deps.sh)");
  c->asRoot_ = ::geteuid() == 0;
  if (c->asRoot_ && ::getpwnam("postgres") == nullptr) {
    // The Debian package creates this user; a minimal image may not have it.
    if (std::system("useradd --system --no-create-home --shell /usr/sbin/nologin postgres >/dev/null 2>&1") != 0 &&
        ::getpwnam("postgres") == nullptr)
      return Status::unavailable("cannot create the system user postgres to run PostgreSQL as");
  }
  // Under TETHER_TEST_TMP when the postgres user can reach it and the socket path fits in
  // sun_path (107 bytes: <dir>/.s.PGSQL.<port>); else under /tmp.
  std::string root = "/tmp";
  if (const char* t = std::getenv("TETHER_TEST_TMP"); t != nullptr && std::strlen(t) < 60) {
    std::error_code ec;
    std::filesystem::create_directories(t, ec);
    if (!ec) root = t;
  }
  std::string tmpl = root + "/pg.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return Status::ioError("mkdtemp " + tmpl + ": " + std::strerror(errno));
  c->dir_ = tmpl;
  ::chmod(c->dir_.c_str(), 0755);
  if (c->asRoot_) {
    struct passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr || ::chown(c->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      return Status::ioError("cannot chown " + c->dir_ + " to postgres");
    std::string probe = "runuser -u postgres -- test -w " + shellQuoted(c->dir_);
    if (std::system(probe.c_str()) != 0 && root != "/tmp") {
      // A parent directory is not traversable by postgres: start over under /tmp.
      std::filesystem::remove_all(c->dir_);
      std::string t2 = "/tmp/pg.XXXXXX";
      if (::mkdtemp(t2.data()) == nullptr) return Status::ioError("mkdtemp /tmp");
      c->dir_ = t2;
      ::chmod(c->dir_.c_str(), 0755);
      if (::chown(c->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::ioError("chown " + c->dir_);
    }
  }
  const std::string runAs = c->asRoot_ ? "runuser -u postgres -- " : "";
  std::string initdb = runAs + kBinDir + "/initdb -D " + shellQuoted(c->dir_ + "/data") +
                       " -A trust -U postgres -E UTF8 --no-sync --no-instructions > " + shellQuoted(c->dir_ + "/initdb.log") +
                       " 2>&1";
  if (std::system(initdb.c_str()) != 0)
    return Status::unavailable("initdb failed: " + readFile(c->dir_ + "/initdb.log"));
  Status started = Status::unavailable("no free port");
  for (int attempt = 0; attempt < 5; ++attempt) {
    c->port_ = freePort();
    if (c->port_ == 0) continue;
    started = c->startServer();
    if (started.isOk()) break;
  }
  TETHER_RETURN_IF_ERROR(started);
  TETHER_RETURN_IF_ERROR(c->startWatchdog());
  return Status::ok();
}

Status PgTestCluster::startServer() {
  const std::string runAs = asRoot_ ? "runuser -u postgres -- " : "";
  // fsync=off etc.: the shared cluster serves functional suites only; crash and kill tests must
  // not rely on it for durability. A durable cluster keeps PostgreSQL's defaults (every commit
  // flushed to the WAL before it is acknowledged), which is what SQLite's synchronous=FULL does.
  const std::string durability = durable_ ? "" : " -c fsync=off -c full_page_writes=off";
  std::string cmd = runAs + kBinDir + "/pg_ctl -D " + shellQuoted(dir_ + "/data") + " -l " + shellQuoted(dir_ + "/server.log") +
                    " -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " + dir_ +
                    durability + " -c max_connections=200\" start > " +
                    shellQuoted(dir_ + "/pg_ctl.log") + " 2>&1";
  if (std::system(cmd.c_str()) != 0)
    return Status::unavailable("pg_ctl start failed: " + readFile(dir_ + "/pg_ctl.log") + readFile(dir_ + "/server.log"));
  return Status::ok();
}

Status PgTestCluster::startWatchdog() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::ioError("pipe2 failed");
  const std::string pidFile = dir_ + "/data/postmaster.pid";
  pid_t child = ::fork();
  if (child < 0) return Status::ioError("fork failed");
  if (child == 0) {
    // The watchdog: only async-signal-safe calls from here on. It blocks until the test process
    // is gone (the pipe's write end closes), then stops the server it started.
    ::close(fds[1]);
    char b;
    while (::read(fds[0], &b, 1) > 0) {
    }
    int fd = ::open(pidFile.c_str(), O_RDONLY);
    if (fd >= 0) {
      char buf[32] = {};
      ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ::close(fd);
      long pid = 0;
      for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid = pid * 10 + (buf[i] - '0');
      if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGINT);  // fast shutdown
    }
    ::_exit(0);
  }
  ::close(fds[0]);
  watchdogPipe_ = fds[1];
  watchdogPid_ = child;
  return Status::ok();
}

void PgTestCluster::stopFromPidFile() {
  std::ifstream in(dir_ + "/data/postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return;
  if (::kill(static_cast<pid_t>(pid), SIGINT) != 0) return;  // fast shutdown
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::kill(static_cast<pid_t>(pid), 0) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (::kill(static_cast<pid_t>(pid), 0) == 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
  // postmaster.pid is removed by a clean shutdown; wait for it so start() can follow at once.
  while (std::filesystem::exists(dir_ + "/data/postmaster.pid") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

PgTestCluster::~PgTestCluster() {
  if (external_) return;
  stopFromPidFile();
  if (watchdogPipe_ >= 0) ::close(watchdogPipe_);  // the watchdog finds no server and exits
  if (watchdogPid_ > 0) ::waitpid(watchdogPid_, nullptr, 0);
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

Status PgTestCluster::stop() {
  if (external_) return Status::unavailable("the test cluster is external (TETHER_TEST_PG_URL)");
  stopFromPidFile();
  return Status::ok();
}

Status PgTestCluster::start() {
  if (external_) return Status::unavailable("the test cluster is external (TETHER_TEST_PG_URL)");
  return startServer();
}

std::string PgTestCluster::conninfo(std::string_view schema) const {
  std::string base = external_ ? baseConninfo_
                               : "host=" + host_ + " port=" + std::to_string(port_) + " user=postgres dbname=postgres";
  if (schema.empty()) return base;
  if (base.rfind("postgres", 0) == 0 && base.find("://") != std::string::npos)
    return base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + std::string(schema);
  return base + " options='-csearch_path=" + std::string(schema) + "'";
}

std::string PgTestCluster::url(std::string_view schema) const {
  if (external_) return conninfo(schema);
  std::string u = "postgresql://postgres@" + host_ + ":" + std::to_string(port_) + "/postgres";
  if (!schema.empty()) u += "?options=-csearch_path%3D" + std::string(schema);
  return u;
}

Result<std::string> PgTestCluster::freshSchema(std::string_view hint) {
  std::string name(1, 't');  // (not = "t": GCC 12 raises a false -Wrestrict on the appends)
  for (char c : hint) {
    if (name.size() >= 40) break;
    name += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? static_cast<char>(std::tolower(c)) : '_';
  }
  name += "_" + std::to_string(::getpid()) + "_" + std::to_string(schemaCounter_.fetch_add(1) + 1);
  TETHER_RETURN_IF_ERROR(adminExec("DROP SCHEMA IF EXISTS " + name + " CASCADE; CREATE SCHEMA " + name));
  return name;
}

Status PgTestCluster::adminExec(std::string_view sql) {
  TETHER_TRY(std::unique_ptr<server::PgConn> conn, server::PgConn::connect(conninfo("")));
  return conn->execScript(sql);
}

Result<std::string> PgTestCluster::adminQuery(std::string_view sql) {
  TETHER_TRY(std::unique_ptr<server::PgConn> conn, server::PgConn::connect(conninfo("")));
  TETHER_TRY(server::PgResult r, conn->exec(sql));
  if (r.rows() == 0) return std::string();
  return r.text(0, 0);
}

}  // namespace tether::testing
