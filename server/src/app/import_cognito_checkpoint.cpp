// The checkpoint files of `tetherd import-cognito`; see import_cognito_checkpoint.h.
#include "app/import_cognito_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace tether::server {
namespace {

using Json = nlohmann::json;
constexpr int kVersion = 1;

Status ioError(const std::string& what, const std::string& path) {
  return Status::ioError(what + " " + path + ": " + std::strerror(errno));
}

Status fsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ioError("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::ok() : ioError("cannot fsync", path);
}

Result<ImportCheckpoint> parseState(const std::string& text, const std::string& path) {
  Json j = Json::parse(text, nullptr, false);
  auto bad = [&](const std::string& why) {
    return Status::corruption(path + " is not an import-cognito checkpoint (" + why +
                              "); give another --checkpoint file or remove it to start over");
  };
  if (!j.is_object()) return bad("not a JSON object");
  try {
    // Inside the try: value() throws too when "version" is there but not a number.
    if (j.value("version", 0) != kVersion) return bad("unknown version");
    ImportCheckpoint s;
    s.sourcePool = j.at("sourcePool").get<std::string>();
    s.targetPool = j.at("targetPool").get<std::string>();
    s.pageToken = j.at("pageToken").get<std::string>();
    s.pageOwned = j.at("pageOwned").get<std::vector<std::string>>();
    s.total = j.at("total").get<int64_t>();
    s.identities = j.at("identities").get<int64_t>();
    s.datasets = j.at("datasets").get<int64_t>();
    s.records = j.at("records").get<int64_t>();
    s.skipped = j.at("skipped").get<int64_t>();
    s.finished = j.at("finished").get<bool>();
    return s;
  } catch (const Json::exception& e) {
    return bad(e.what());
  }
}

}  // namespace

Result<CheckpointFile> CheckpointFile::open(const std::string& path) {
  CheckpointFile file(path);
  if (path.empty()) return file;
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    TETHER_TRY(file.state_, parseState(text.str(), path));
    std::ifstream done(path + ".done");
    std::string line;
    // Only newline-terminated lines count: a torn last line (the process died mid-write) is dropped.
    while (std::getline(done, line))
      if (!done.eof() && !line.empty()) file.done_.insert(line);
  } else if (errno != ENOENT) {
    return ioError("cannot read", path);
  } else {
    std::remove((path + ".done").c_str());  // a stale list without its checkpoint means nothing
  }
  file.doneFile_ = std::fopen((path + ".done").c_str(), "a");
  if (file.doneFile_ == nullptr) return ioError("cannot open", path + ".done");
  return file;
}

CheckpointFile::CheckpointFile(CheckpointFile&& other) noexcept
    : path_(std::move(other.path_)), state_(std::move(other.state_)), done_(std::move(other.done_)),
      doneFile_(std::exchange(other.doneFile_, nullptr)) {}

CheckpointFile::~CheckpointFile() {
  if (doneFile_ != nullptr) std::fclose(doneFile_);
}

Status CheckpointFile::markDone(const std::string& identityId) {
  done_.insert(identityId);
  if (doneFile_ == nullptr) return Status::ok();
  if (std::fprintf(doneFile_, "%s\n", identityId.c_str()) < 0 || std::fflush(doneFile_) != 0)
    return ioError("cannot append to", path_ + ".done");
  return Status::ok();
}

Status CheckpointFile::save() {
  if (path_.empty()) return Status::ok();
  if (::fsync(fileno(doneFile_)) != 0) return ioError("cannot fsync", path_ + ".done");
  const ImportCheckpoint& s = state_;
  Json j = {{"version", kVersion},       {"sourcePool", s.sourcePool}, {"targetPool", s.targetPool},
            {"pageToken", s.pageToken},  {"pageOwned", s.pageOwned},   {"total", s.total},
            {"identities", s.identities}, {"datasets", s.datasets},    {"records", s.records},
            {"skipped", s.skipped},      {"finished", s.finished}};
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(1) << "\n";
    out.close();
    if (!out) return ioError("cannot write", tmp);
  }
  TETHER_RETURN_IF_ERROR(fsyncPath(tmp));
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) return ioError("cannot rename to", path_);
  return Status::ok();
}

}  // namespace tether::server
