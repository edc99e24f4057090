// The exact answers of the paper's queries over ground-truth records
// (truth.h). Each function restates its query's semantics over the events of
// truth.h's model of one op.
#include <algorithm>
#include <functional>
#include <map>

#include "fs_image.h"
#include "truth.h"

namespace minidfs::truth {
namespace {

using Key = std::vector<std::string>;
using Groups = std::map<Key, int64_t>;

struct QueryDef {
  const char* id;
  const char* text;
  std::vector<std::string> columns;
  // Adds the op's contribution to the groups.
  std::function<void(const ClientRecord&, const Op&, Groups&)> add;
};

const std::vector<QueryDef>& queries() {
  static const std::vector<QueryDef> defs = {
      {"Q1",
       "From incr In DataNodeMetrics.incrBytesRead GroupBy incr.host Select incr.host, SUM(incr.delta)",
       {"incr.host", "SUM(incr.delta)"},
       [](const ClientRecord&, const Op& op, Groups& g) {
         for (const Read& r : op.reads) g[{r.datanode}] += r.bytes;
       }},
      // Every op fires ClientProtocols once, first, with the client's procName.
      {"Q2",
       "From incr In DataNodeMetrics.incrBytesRead Join cl In First(ClientProtocols) On cl -> incr "
       "GroupBy cl.procName Select cl.procName, SUM(incr.delta)",
       {"cl.procName", "SUM(incr.delta)"},
       [](const ClientRecord& c, const Op& op, Groups& g) {
         for (const Read& r : op.reads) g[{c.proc_name}] += r.bytes;
       }},
      {"Q3",
       "From dnop In DN.DataTransferProtocol GroupBy dnop.host Select dnop.host, COUNT",
       {"dnop.host", "COUNT"},
       [](const ClientRecord&, const Op& op, Groups& g) {
         for (const Read& r : op.reads) ++g[{r.datanode}];
       }},
      // One GetBlockLocations per op, after its one DoNextOp.
      {"Q4",
       "From getloc In NN.GetBlockLocations Join st In StressTest.DoNextOp On st -> getloc "
       "GroupBy st.host, getloc.src Select st.host, getloc.src, COUNT",
       {"st.host", "getloc.src", "COUNT"},
       [](const ClientRecord& c, const Op& op, Groups& g) {
         ++g[{c.host, op.src}];
       }},
      // replicas is list-valued: one row per element.
      {"Q5",
       "From getloc In NN.GetBlockLocations Join st In StressTest.DoNextOp On st -> getloc "
       "GroupBy st.host, getloc.replicas Select st.host, getloc.replicas, COUNT",
       {"st.host", "getloc.replicas", "COUNT"},
       [](const ClientRecord& c, const Op& op, Groups& g) {
         for (const std::string& dn : op.replicas) ++g[{c.host, dn}];
       }},
      {"Q6",
       "From DNop In DN.DataTransferProtocol Join st In StressTest.DoNextOp On st -> DNop "
       "GroupBy st.host, DNop.host Select st.host, DNop.host, COUNT",
       {"st.host", "DNop.host", "COUNT"},
       [](const ClientRecord& c, const Op& op, Groups& g) {
         for (const Read& r : op.reads) ++g[{c.host, r.datanode}];
       }},
      // Each read joins the op's one GetBlockLocations once per replica.
      {"Q7",
       "From DNop In DN.DataTransferProtocol Join getloc In NN.GetBlockLocations On getloc -> DNop "
       "Join st In StressTest.DoNextOp On st -> getloc Where st.host != DNop.host "
       "GroupBy DNop.host, getloc.replicas Select DNop.host, getloc.replicas, COUNT",
       {"DNop.host", "getloc.replicas", "COUNT"},
       [](const ClientRecord& c, const Op& op, Groups& g) {
         for (const Read& r : op.reads) {
           if (c.host == r.datanode) continue;
           for (const std::string& dn : op.replicas) ++g[{r.datanode, dn}];
         }
       }},
      // The most recent GetBlockLocations before a read is its op's.
      {"Q8",
       "From incr In DataNodeMetrics.incrBytesRead Join getloc In MostRecent(NN.GetBlockLocations) "
       "On getloc -> incr GroupBy incr.host, getloc.src Select incr.host, getloc.src, SUM(incr.delta)",
       {"incr.host", "getloc.src", "SUM(incr.delta)"},
       [](const ClientRecord&, const Op& op, Groups& g) {
         for (const Read& r : op.reads) g[{r.datanode, op.src}] += r.bytes;
       }},
      // A tracepoint defined at run time on a function with no
      // PIVOT_TRACEPOINT in it: its return value is the bytes sent.
      {"H1",
       "Tracepoint sent = Return(\"minidfs::DataNode::send_block\") Exports block = arg2\n"
       "From s In sent Join cl In First(ClientProtocols) On cl -> s "
       "GroupBy cl.procName, s.host Select cl.procName, s.host, SUM(s.ret)",
       {"cl.procName", "s.host", "SUM(s.ret)"},
       [](const ClientRecord& c, const Op& op, Groups& g) {
         for (const Read& r : op.reads) g[{c.proc_name, r.datanode}] += r.bytes;
       }},
      {"RR",
       "From r In ReceiveRequest GroupBy r.host, r.op Select r.host, r.op, COUNT",
       {"r.host", "r.op", "COUNT"},
       [](const ClientRecord&, const Op& op, Groups& g) {
         ++g[{std::string(kNameNodeHost), "GetBlockLocations"}];
         for (const Read& r : op.reads) ++g[{r.datanode, "ReadBlock"}];
       }},
  };
  return defs;
}

const QueryDef* find_query(std::string_view id) {
  std::string upper(id);
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const QueryDef& q : queries()) {
    if (q.id == upper) return &q;
  }
  return nullptr;
}

pivot::Error unknown_query(std::string_view id) {
  std::string known;
  for (const QueryDef& q : queries()) known += std::string(known.empty() ? "" : ", ") + q.id;
  return pivot::Error("unknown query \"" + std::string(id) + "\" (known: " + known + ")");
}

}  // namespace

std::vector<std::string> query_ids() {
  std::vector<std::string> ids;
  for (const QueryDef& q : queries()) ids.push_back(q.id);
  return ids;
}

pivot::Result<std::string> query_text(std::string_view id) {
  const QueryDef* q = find_query(id);
  if (q == nullptr) return unknown_query(id);
  return std::string(q->text);
}

pivot::Result<pivot::ResultTable> expected(const std::vector<ClientRecord>& records, std::string_view id) {
  const QueryDef* q = find_query(id);
  if (q == nullptr) return unknown_query(id);
  Groups groups;
  for (const ClientRecord& c : records) {
    for (const Op& op : c.ops) q->add(c, op, groups);
  }
  pivot::ResultTable t;
  t.columns = q->columns;
  for (const auto& [key, value] : groups) {
    std::vector<pivot::Value> row(key.begin(), key.end());
    row.emplace_back(value);
    t.rows.push_back(std::move(row));
  }
  // pivot's order: lexicographic by Value (null < bool < number < string).
  std::sort(t.rows.begin(), t.rows.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  });
  return t;
}

int64_t rpc_count(const std::vector<ClientRecord>& records) {
  int64_t n = 0;
  for (const ClientRecord& c : records) {
    for (const Op& op : c.ops) n += 1 + static_cast<int64_t>(op.reads.size());
  }
  return n;
}

nlohmann::json summary(const std::vector<ClientRecord>& records) {
  struct Dn {
    int64_t reads = 0, bytes = 0;
    std::map<std::string, int64_t> bytes_by_src;
  };
  int64_t ops = 0, reads = 0, bytes = 0;
  std::map<std::string, Dn> datanodes;
  std::map<std::string, int64_t> files;
  nlohmann::json clients = nlohmann::json::object();
  for (const ClientRecord& c : records) {
    int64_t client_bytes = 0;
    for (const Op& op : c.ops) {
      ++ops;
      ++files[op.src];
      for (const Read& r : op.reads) {
        ++reads;
        bytes += r.bytes;
        client_bytes += r.bytes;
        Dn& dn = datanodes[r.datanode];
        ++dn.reads;
        dn.bytes += r.bytes;
        dn.bytes_by_src[op.src] += r.bytes;
      }
    }
    clients[c.host] = {{"procName", c.proc_name}, {"ops", c.ops.size()}, {"bytes", client_bytes}};
  }
  nlohmann::json dns = nlohmann::json::object();
  for (const auto& [host, dn] : datanodes) {
    dns[host] = {{"reads", dn.reads}, {"bytes", dn.bytes}, {"bytes_by_src", dn.bytes_by_src}};
  }
  return {{"ops", ops},         {"reads", reads}, {"bytes", bytes},  {"rpcs", rpc_count(records)},
          {"clients", clients}, {"files", files}, {"datanodes", dns}};
}

}  // namespace minidfs::truth
