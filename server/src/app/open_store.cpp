#include "app/open_store.h"

#include <charconv>
#include <utility>

#include "app/commands.h"
#include "storage/pg_conn.h"
#include "storage/pg_store.h"
#include "storage/sqlite_store.h"

namespace tether::server {
namespace {

constexpr int kMaxPoolSize = 1000;

Result<int> parsePoolSize(std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > kMaxPoolSize)
    return Status::invalidArgument("store URL: pool_size must be 1-" + std::to_string(kMaxPoolSize) + ", got '" +
                                   std::string(text) + "'");
  return n;
}

// Removes `pool_size=N` from a URL's query string (libpq rejects parameters it does not know).
Status takePoolSizeFromUrl(std::string& url, int& poolSize) {
  size_t q = url.find('?');
  if (q == std::string::npos) return Status::ok();
  std::string query = url.substr(q + 1);
  std::string kept;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    std::string_view param(query.data() + start, amp - start);
    if (param.substr(0, 10) == "pool_size=") {
      TETHER_TRY(poolSize, parsePoolSize(param.substr(10)));
    } else if (!param.empty()) {
      if (!kept.empty()) kept += '&';
      kept += param;
    }
    start = amp + 1;
  }
  url = url.substr(0, q) + (kept.empty() ? "" : "?" + kept);
  return Status::ok();
}

// The same for a keyword string: a `pool_size=N` word (values with spaces are quoted in libpq
// syntax; pool_size's never are).
Status takePoolSizeFromKeywords(std::string& conninfo, int& poolSize) {
  std::string out;
  size_t i = 0;
  while (i < conninfo.size()) {
    size_t wordStart = i;
    bool quoted = false;
    while (i < conninfo.size() && (quoted || conninfo[i] != ' ')) {
      if (conninfo[i] == '\\' && i + 1 < conninfo.size()) ++i;
      else if (conninfo[i] == '\'') quoted = !quoted;
      ++i;
    }
    std::string_view word(conninfo.data() + wordStart, i - wordStart);
    if (word.substr(0, 10) == "pool_size=") {
      TETHER_TRY(poolSize, parsePoolSize(word.substr(10)));
    } else if (!word.empty()) {
      if (!out.empty()) out += ' ';
      out += word;
    }
    while (i < conninfo.size() && conninfo[i] == ' ') ++i;
  }
  conninfo = std::move(out);
  return Status::ok();
}

}  // namespace

std::filesystem::path databasePath(const std::filesystem::path& dataDir) { return dataDir / "tether.db"; }

std::string sqliteStoreUrl(const std::filesystem::path& dataDir) { return "sqlite:" + dataDir.string(); }

Result<StoreUrl> parseStoreUrl(std::string_view url) {
  StoreUrl out;
  if (url.empty()) return Status::invalidArgument("store URL is empty");
  if (url.substr(0, 7) == "sqlite:") {
    std::string_view dir = url.substr(7);
    if (dir.substr(0, 2) == "//") dir.remove_prefix(2);  // sqlite://DIR, as some write it
    if (dir.empty()) return Status::invalidArgument("store URL sqlite: needs a directory, e.g. sqlite:./tether-data");
    out.kind = StoreUrl::Kind::kSqlite;
    out.dataDir = std::filesystem::path(std::string(dir));
    return out;
  }
  out.kind = StoreUrl::Kind::kPostgres;
  out.conninfo = std::string(url);
  if (url.substr(0, 13) == "postgresql://" || url.substr(0, 11) == "postgres://") {
    TETHER_RETURN_IF_ERROR(takePoolSizeFromUrl(out.conninfo, out.poolSize));
    return out;
  }
  if (url.find('=') != std::string_view::npos) {
    TETHER_RETURN_IF_ERROR(takePoolSizeFromKeywords(out.conninfo, out.poolSize));
    return out;
  }
  return Status::invalidArgument("unknown store URL '" + std::string(url) +
                                 "': use sqlite:DIR, postgresql://user@host:port/db or a libpq keyword string");
}

Result<OpenedStore> openStore(std::string_view url, OpenMode mode) {
  TETHER_TRY(StoreUrl parsed, parseStoreUrl(url));
  OpenedStore out;
  if (parsed.kind == StoreUrl::Kind::kSqlite) {
    const std::filesystem::path file = databasePath(parsed.dataDir);
    if (mode == OpenMode::kMustExist && !std::filesystem::exists(file))
      return Status::notFound("no tetherd database in " + parsed.dataDir.string() + " (wrong --data-dir or --store?)");
    if (mode == OpenMode::kCreate) {
      std::error_code ec;
      std::filesystem::create_directories(parsed.dataDir, ec);
    }
    Result<std::unique_ptr<Store>> store = openSqliteStore(file);
    if (!store.isOk())
      return Status(store.status().code(), "cannot open the database in " + parsed.dataDir.string() + ": " +
                                               store.status().message());
    out.store = std::move(*store);
    out.secrets = std::make_unique<auth::FileSecretStore>(parsed.dataDir);
    out.description = parsed.dataDir.string();
    return out;
  }
  PgStoreOptions options;
  options.poolSize = parsed.poolSize;
  Result<std::unique_ptr<Store>> store = openPgStore(parsed.conninfo, options);
  if (!store.isOk())
    return Status(store.status().code(), "cannot open the PostgreSQL store " + describePgConninfo(parsed.conninfo) +
                                             ": " + store.status().message());
  out.store = std::move(*store);
  out.secrets = std::make_unique<auth::DatabaseSecretStore>(*out.store);
  out.description = describePgConninfo(parsed.conninfo);
  return out;
}

}  // namespace tether::server
