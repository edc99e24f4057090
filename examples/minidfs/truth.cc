// Reading and writing ground-truth files (truth.h).
#include "truth.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace minidfs::truth {
namespace {

namespace fs = std::filesystem;

// Checked access: nlohmann throws type_error on a wrong type; from_json
// turns it into an Error naming the file's problem.
template <class T>
T field(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) throw std::runtime_error(std::string("missing \"") + key + "\"");
  return j.at(key).get<T>();
}

}  // namespace

nlohmann::json to_json(const ClientRecord& record) {
  nlohmann::json ops = nlohmann::json::array();
  for (const Op& op : record.ops) {
    nlohmann::json reads = nlohmann::json::array();
    for (const Read& r : op.reads) {
      reads.push_back({{"block", r.block},
                       {"datanode", r.datanode},
                       {"offset", r.offset},
                       {"length", r.length},
                       {"bytes", r.bytes}});
    }
    ops.push_back(
        {{"seq", op.seq}, {"op", op.op}, {"src", op.src}, {"replicas", op.replicas}, {"reads", reads}});
  }
  return {{"format", kFormat},     {"index", record.index},
          {"host", record.host},   {"procName", record.proc_name},
          {"seed", record.seed},   {"complete", record.complete},
          {"error", record.error}, {"ops", ops}};
}

pivot::Result<ClientRecord> from_json(const nlohmann::json& j) {
  try {
    if (field<std::string>(j, "format") != kFormat) return pivot::Error("not a minidfs-truth/1 record");
    ClientRecord r;
    r.index = field<int>(j, "index");
    r.host = field<std::string>(j, "host");
    r.proc_name = field<std::string>(j, "procName");
    r.seed = field<uint64_t>(j, "seed");
    r.complete = field<bool>(j, "complete");
    r.error = field<std::string>(j, "error");
    for (const auto& jo : j.at("ops")) {
      Op op;
      op.seq = field<int64_t>(jo, "seq");
      op.op = field<std::string>(jo, "op");
      op.src = field<std::string>(jo, "src");
      op.replicas = field<std::vector<std::string>>(jo, "replicas");
      for (const auto& jr : jo.at("reads")) {
        op.reads.push_back({field<int64_t>(jr, "block"), field<std::string>(jr, "datanode"),
                            field<int64_t>(jr, "offset"), field<int64_t>(jr, "length"),
                            field<int64_t>(jr, "bytes")});
      }
      r.ops.push_back(std::move(op));
    }
    return r;
  } catch (const std::exception& e) {
    return pivot::Error(std::string("bad truth record: ") + e.what());
  }
}

pivot::Status write_file(const ClientRecord& record, const std::string& path) {
  fs::path target(path);
  fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << to_json(record).dump(1) << "\n";
    out.close();
    if (!out) return pivot::Error("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) return pivot::Error("cannot rename " + tmp.string() + " to " + path + ": " + ec.message());
  return pivot::Status::Ok();
}

pivot::Result<ClientRecord> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return pivot::Error("cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return pivot::Error(path + ": not JSON");
  auto r = from_json(j);
  if (!r) return pivot::Error(path + ": " + r.error().message());
  return r;
}

pivot::Result<std::vector<ClientRecord>> load_dir(const std::string& dir, bool allow_incomplete) {
  std::error_code ec;
  std::vector<ClientRecord> out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || entry.path().extension() != ".json") continue;
    auto r = read_file(entry.path().string());
    if (!r) return r.error();
    if (!r->complete && !allow_incomplete) {
      return pivot::Error(entry.path().string() + ": incomplete (" + r->error + ")");
    }
    out.push_back(std::move(*r));
  }
  if (ec) return pivot::Error("cannot list " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const ClientRecord& a, const ClientRecord& b) {
    return std::tie(a.index, a.host) < std::tie(b.index, b.host);
  });
  return out;
}

}  // namespace minidfs::truth
