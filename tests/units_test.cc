// Units: exports declared with PIVOT_EXPORT_UNIT and the builtin timestamp
// carry what they measure through the query's arithmetic and aggregates to
// its columns; the text table prints them with units, JSON and CSV keep the
// raw numbers. (The span tracepoints' units: src/trace/span_tracepoints_test.cc.)
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "pivot/pivot.h"

namespace {

void op_done(const std::string& kind, int64_t dur, int64_t size) {
  PIVOT_TRACEPOINT("Units.Op", kind, PIVOT_EXPORT_UNIT("dur", dur, "ns"),
                   PIVOT_EXPORT_UNIT("size", size, "bytes"));
}

TEST(Units, TablesPrintDurationsAndBytesWithUnitsJsonAndCsvStayRaw) {
  pivot::Session s;
  auto q = s.install(
      "From o In Units.Op GroupBy o.kind Select o.kind, COUNT, SUM(o.dur), AVG(o.dur), MAX(o.size), "
      "MIN(o.size)");
  ASSERT_TRUE(q) << q.error().message();
  op_done("read", 10092132, 1258291);
  op_done("read", 10092133, 100);
  op_done("stat", 950, 0);
  op_done("stat", 1500000000, 3);
  auto t = s.results(*q);
  EXPECT_EQ(t.to_text(),
            "o.kind  COUNT  SUM(o.dur)  AVG(o.dur)  MAX(o.size)  MIN(o.size)\n"
            "read        2    20.18 ms    10.09 ms     1.20 MiB        100 B\n"
            "stat        2      1.50 s   750.00 ms          3 B          0 B\n");
  EXPECT_EQ(
      t.to_json(),
      R"json({"columns":["o.kind","COUNT","SUM(o.dur)","AVG(o.dur)","MAX(o.size)","MIN(o.size)"],"rows":[)json"
      R"json(["read",2,20184265,10092132.5,1258291,100],["stat",2,1500000950,750000475.0,3,0]]})json");
  EXPECT_EQ(t.to_csv(),
            "o.kind,COUNT,SUM(o.dur),AVG(o.dur),MAX(o.size),MIN(o.size)\r\n"
            "read,2,20184265,10092132.5,1258291,100\r\n"
            "stat,2,1500000950,750000475.0,3,0\r\n");
}

std::vector<pivot::Unit> units_of(const std::string& text) {
  pivot::Session s;
  auto q = s.install(text);
  EXPECT_TRUE(q) << q.error().message();
  op_done("read", 1, 1);
  return q ? s.results(*q).units : std::vector<pivot::Unit>{};
}

using pivot::Unit;

// + and - keep a unit; *, / and % lose it; two times differ by a duration.
TEST(Units, Arithmetic) {
  EXPECT_EQ(units_of("From o In Units.Op Select o.dur + 5, o.dur * 2, o.dur / 2, o.size - o.size, "
                     "o.dur + o.size, -o.dur, o.timestamp - o.timestamp, o.timestamp + o.dur, o.timestamp, "
                     "o.kind"),
            (std::vector<Unit>{Unit::kNanoseconds, Unit::kNone, Unit::kNone, Unit::kBytes, Unit::kNone,
                               Unit::kNanoseconds, Unit::kNanoseconds, Unit::kEpochNanoseconds,
                               Unit::kEpochNanoseconds, Unit::kNone}));
  EXPECT_EQ(units_of("From o In Units.Op Let lat = o.timestamp - o.timestamp Select lat"),
            (std::vector<Unit>{Unit::kNanoseconds}));
}

// COUNT has none; SUM, MIN, MAX and AVG keep their argument's (a SUM of
// times is not a time).
TEST(Units, Aggregates) {
  EXPECT_EQ(
      units_of("From o In Units.Op Select COUNT, COUNT(o.dur), SUM(o.dur), MIN(o.size), MAX(o.timestamp), "
               "AVG(o.dur), SUM(o.timestamp), HIST(o.dur)"),
      (std::vector<Unit>{Unit::kNone, Unit::kNone, Unit::kNanoseconds, Unit::kBytes, Unit::kEpochNanoseconds,
                         Unit::kNanoseconds, Unit::kNone, Unit::kNanoseconds}));
}

// A quantile is one of the values, so it keeps their unit; a distinct count
// has none.
TEST(Units, QuantilesKeepTheirArgumentsUnit) {
  EXPECT_EQ(units_of("From o In Units.Op Select P99(o.dur), QUANTILE(o.size, 0.5), COUNT(DISTINCT o.size)"),
            (std::vector<Unit>{Unit::kNanoseconds, Unit::kBytes, Unit::kNone}));
}

// An aggregating source's outputs keep their units for the query over them.
TEST(Units, ThroughAnAggregatingSource) {
  EXPECT_EQ(
      units_of("PerKind = From o In Units.Op GroupBy o.kind Select o.kind, SUM(o.dur) As d, COUNT As n\n"
               "From k In PerKind Select AVG(k.d), MAX(k.n)"),
      (std::vector<Unit>{Unit::kNanoseconds, Unit::kNone}));
}

TEST(Units, TracepointsListTheirExportsUnits) {
  auto all = pivot::Session::tracepoints();
  auto unit = [&](const std::string& tp, const std::string& name) {
    auto t = std::find_if(all.begin(), all.end(), [&](const auto& x) { return x.name == tp; });
    EXPECT_NE(t, all.end()) << tp;
    if (t == all.end()) return Unit::kNone;
    auto e =
        std::find_if(t->exports.begin(), t->exports.end(), [&](const auto& x) { return x.name == name; });
    EXPECT_NE(e, t->exports.end()) << tp << "." << name;
    return e == t->exports.end() ? Unit::kNone : e->unit;
  };
  EXPECT_EQ(unit("Units.Op", "dur"), Unit::kNanoseconds);
  EXPECT_EQ(unit("Units.Op", "size"), Unit::kBytes);
  EXPECT_EQ(unit("Units.Op", "kind"), Unit::kNone);
  EXPECT_EQ(unit("Units.Op", "timestamp"), Unit::kEpochNanoseconds);
}

}  // namespace
