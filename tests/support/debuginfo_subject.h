// The functions of debuginfo_subject.inc, declared in namespace
// DEBUGINFO_NS (no include guard: included once per build of them).
#include <cstdint>
#include <string>
#include <string_view>

namespace DEBUGINFO_NS {

enum class Level : uint8_t { kLow = 1, kHigh = 200 };
enum Mood : short { kSad = -3, kHappy = 7 };

struct Point {
  int64_t x;
  double y;
};

int64_t ints(signed char c, unsigned char uc, short s, unsigned short us, int i, unsigned u);
int64_t wide(long l, unsigned long ul, bool b, Level level, Mood mood);
double scale(float f, double d, int n);
size_t texts(const char* cs, const std::string& ref, std::string val, std::string_view view);
std::string label(int n, const char* prefix);
Point make_point(int64_t x, double y);

// A class with other members.
class Store {
 public:
  int64_t put(const std::string& key, int64_t size);
  int64_t total(Level level) const;
  std::string describe(int width) const;

 private:
  int64_t items_ = 0;
  int64_t bytes_ = 0;
  std::string last_;
};

// A plain struct whose only member function is add: nothing in the symbol
// tables shows that Counter is a class rather than a namespace.
struct Counter {
  int64_t add(int64_t n, int k);
  int64_t value = 0;
};

double orders(int64_t quantity, double price, int64_t discount);
int64_t scale_both(int64_t a, int64_t b);
int64_t checksum(const char* data, int64_t n);
int64_t checksum_twice(const char* data, int64_t n);
int64_t refill(int64_t stock, int64_t want);

}  // namespace DEBUGINFO_NS
