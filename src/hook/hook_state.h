// What a hooked function's stub finds through its Hook: the probes attached
// to the function, as hook.cc publishes them and as both paths of the stub
// read them (hook.cc's pivot_hook_entry/return with every register saved,
// gpr_entry.cc's on the general-purpose registers only; stub.h).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "hook/hook.h"
#include "hook/stub.h"
#include "pivot/internal/site.h"

namespace pivot::hook {

// How the fast path reads an export that is an int in a general-purpose
// register, or a constant: an integer or pointer argument, `ret` of such a
// type, an argument that debug information says is a constant in this
// clone, or `duration` (from the entry and return ticks in Regs). It reads
// the first kGprReaders exports at most, each as the slow path's
// read_arg/read_ret/get_export would (hook.cc).
struct GprReader {
  enum class From : uint8_t { kArg, kRet, kConstant, kDuration };
  uint8_t export_index = 0;
  From from = From::kArg;
  uint8_t reg = 0;    // kArg: Regs::gp index
  uint8_t width = 8;  // bytes of the register that are the value's (kInt; a pointer is all 8)
  bool is_signed = true;
  uint64_t constant = 0;  // kConstant
};
inline constexpr uint32_t kGprReaders = 16;

struct Attachment {
  ::pivot::internal::Site site;
  ::pivot::internal::SiteInfo info;
  std::string tracepoint;
  std::vector<std::string> names;
  std::vector<::pivot::internal::ExportDesc> descs;
  std::vector<Reader> readers;
  bool at_return = false;
  bool wants_time = false;
  uint32_t n_gpr_readers = 0;
  GprReader gpr_readers[kGprReaders];
};

// Fills a's gpr_readers from its readers.
void set_gpr_readers(Attachment& a);

// What a hook runs, swapped whole (RCU: freed after a grace period).
struct Snapshot {
  std::vector<Attachment*> entry, ret;
  bool wants_time = false;
  // For the fast path: whether it may take the call at all (at most one
  // attachment at entry and one at return), and those attachments.
  bool gpr = false;
  const Attachment* gpr_entry = nullptr;
  const Attachment* gpr_ret = nullptr;
};

// What the fast path's entry half does for a hook that has nothing to run
// at entry and one Return attachment: it only marks the call for the
// return half (with the time, when the Return advice wants it), which
// reads the snapshot itself. Entry then needs no read section.
enum class EntryShortcut : uint8_t {
  kNone,      // read the snapshot
  kMark,      // return 1
  kMarkTime,  // return the entry ticks
};

// One per function ever hooked; never freed (a thread may be between the
// function's entry and return in the stub long after it was unhooked).
struct Hook : HookHeader {
  Patch* patch = nullptr;
  std::atomic<const Snapshot*> snapshot{nullptr};
  // Follows snapshot (set with it, under hook.cc's hooks_mutex()); a
  // reader may see one a little older than the other, as a call that
  // began before a change may see either.
  std::atomic<EntryShortcut> entry_shortcut{EntryShortcut::kNone};
  std::vector<Attachment*> attached;  // guarded by hook.cc's hooks_mutex()
};

}  // namespace pivot::hook
