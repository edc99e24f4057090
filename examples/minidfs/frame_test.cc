// Framing: round trips, every kind of malformed frame rejected with an
// error, and a real server that answers garbage on its socket with an error
// and goes on serving.
#include "frame.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "namenode.h"
#include "net.h"
#include "pivot/baggage.h"
#include "rpc.h"

namespace minidfs {
namespace {

Frame sample() {
  Frame f = make_request("ReadBlock");
  f.set("block", "1073741825");
  f.set("src", "/data/file-00");
  f.set("baggage", "");
  f.body = std::string("\0\1\2binary\xff", 10);
  return f;
}

std::string encoded(const Frame& f) {
  auto bytes = encode_frame(f);
  EXPECT_TRUE(bytes) << bytes.error().message();
  return bytes ? *bytes : std::string();
}

void expect_rejected(std::string_view bytes, std::string_view why) {
  auto f = decode_frame(bytes);
  ASSERT_FALSE(f) << "accepted a frame that should fail with: " << why;
  EXPECT_NE(f.error().message().find(why), std::string::npos) << f.error().message();
}

TEST(Frame, RoundTrip) {
  Frame f = sample();
  auto back = decode_frame(encoded(f));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->kind, FrameKind::kRequest);
  EXPECT_EQ(back->headers, f.headers);
  EXPECT_EQ(back->body, f.body);
  EXPECT_EQ(back->get("op"), "ReadBlock");
  EXPECT_EQ(back->get("missing"), "");
  EXPECT_TRUE(back->has("baggage"));
}

TEST(Frame, PinnedBytes) {
  Frame f;
  f.kind = FrameKind::kResponse;
  f.set("k", "vv");
  f.body = "xy";
  EXPECT_EQ(encoded(f), std::string("MD\x01\x02\0\0\0\x07\0\0\0\x02\0\x01k\0\x02vvxy", 21));
}

TEST(Frame, EmptyFrameAndLimits) {
  Frame empty;
  empty.kind = FrameKind::kData;
  auto back = decode_frame(encoded(empty));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->headers.empty());
  Frame big;
  big.body.assign(kMaxBodyBytes, 'x');
  EXPECT_TRUE(decode_frame(encoded(big)));
  big.body.push_back('x');
  EXPECT_FALSE(encode_frame(big));
  Frame long_value;
  long_value.set("v", std::string(65536, 'x'));
  EXPECT_FALSE(encode_frame(long_value));
  Frame bad_key;
  bad_key.set("a b", "x");
  EXPECT_FALSE(encode_frame(bad_key));
  Frame many;
  for (size_t i = 0; i <= kMaxHeaderEntries; ++i) many.headers.emplace_back("k" + std::to_string(i), "");
  EXPECT_FALSE(encode_frame(many));
}

TEST(Frame, RejectsMalformed) {
  std::string good = encoded(sample());
  expect_rejected("", "shorter than");
  expect_rejected(good.substr(0, 11), "shorter than");
  expect_rejected(good.substr(0, good.size() - 1), "truncated");
  expect_rejected(good + "z", "trailing bytes");
  std::string s = good;
  s[0] = 'X';
  expect_rejected(s, "bad magic");
  s = good;
  s[2] = 9;
  expect_rejected(s, "unsupported version 9");
  s = good;
  s[3] = 0;
  expect_rejected(s, "unknown kind 0");
  s = good;
  s[3] = 4;
  expect_rejected(s, "unknown kind 4");
  // Sizes past the limits are refused from the prefix alone.
  s = good;
  s[4] = 1;  // header block of 16 MiB+
  expect_rejected(s, "header block larger");
  s = good;
  s[8] = 0x7f;  // body of ~2 GiB
  expect_rejected(s, "body larger");
}

// A frame whose header block is built by hand.
std::string with_header_block(const std::string& block) {
  std::string out("MD\x01\x01", 4);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((block.size() >> shift) & 0xff));
  out.append(4, '\0');
  return out + block;
}

TEST(Frame, RejectsBadHeaderBlocks) {
  expect_rejected(with_header_block(std::string("\0", 1)), "truncated header key size");
  expect_rejected(with_header_block(std::string("\0\x05op", 4)), "key overruns");
  expect_rejected(with_header_block(std::string("\0\0\0\0", 4)), "header key is not");
  expect_rejected(with_header_block(std::string("\0\x02o\n\0\0", 6)), "header key is not");
  expect_rejected(with_header_block(std::string("\0\x02op", 4)), "truncated header value size");
  expect_rejected(with_header_block(std::string("\0\x02op\0\x09x", 7)), "value overruns");
  expect_rejected(with_header_block(std::string("\0\x01k\0\0\0\x01k\0\0", 10)), "duplicate header key");
  std::string many;
  for (int i = 0; i < 65; ++i) {
    std::string key = "k" + std::to_string(i);
    many += std::string("\0", 1) + static_cast<char>(key.size()) + key + std::string("\0\0", 2);
  }
  expect_rejected(with_header_block(many), "more than 64");
}

TEST(Frame, SurvivesEveryTruncationAndBitFlip) {
  std::string good = encoded(sample());
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(decode_frame(good.substr(0, n)));
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string s = good;
      s[i] = static_cast<char>(s[i] ^ (1 << bit));
      (void)decode_frame(s);  // must not crash; may be accepted (a value byte)
    }
  }
}

TEST(Frame, SocketRoundTripAndCleanClose) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  Socket a(sv[0]), b(sv[1]);
  Frame f = sample();
  ASSERT_TRUE(write_frame(a.fd(), f).ok());
  auto got = read_frame(b.fd());
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->body, f.body);
  a.reset();
  auto eof = read_frame(b.fd());
  ASSERT_TRUE(eof);
  EXPECT_FALSE(*eof);  // closed between frames: not an error
}

TEST(Frame, MidFrameCloseAndStallAreErrors) {
  std::string good = encoded(sample());
  for (bool close_early : {false, true}) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Socket a(sv[0]), b(sv[1]);
    ASSERT_EQ(::write(a.fd(), good.data(), 15), 15);
    if (close_early) a.reset();
    auto f = read_frame(b.fd(), 1000, 100);
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message().find(close_early ? "closed mid-frame" : "timed out"), std::string::npos)
        << f.error().message();
  }
}

// A namenode answers garbage with an error, closes that connection, and
// keeps serving others; hostile baggage is treated as empty.
TEST(Frame, ServerRejectsMalformedFramesAndGoesOn) {
  NameNode nn({.image = {.seed = 3, .files = 2, .datanodes = 1}});
  ASSERT_TRUE(nn.start().ok());
  std::string address = loopback_address(nn.port());
  for (std::string garbage :
       {std::string("GET / HTTP/1.1\r\n\r\n"), std::string("MD\x01\x01\xff\xff\xff\xff\0\0\0\0", 12),
        std::string("MD\x01\x02\0\0\0\0\0\0\0\0", 12)}) {
    auto s = connect_to(address);
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_EQ(::write(s->fd(), garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
    auto reply = read_frame(s->fd());
    ASSERT_TRUE(reply && *reply) << (reply ? "closed" : reply.error().message());
    EXPECT_EQ((*reply)->get("status"), "error");
    EXPECT_NE((*reply)->get("message").find("bad frame"), std::string::npos) << (*reply)->get("message");
    auto after = read_frame(s->fd());
    ASSERT_TRUE(after);
    EXPECT_FALSE(*after) << "connection should be closed";
  }
  // Still serving: the datanode is not registered, so a well-formed request
  // gets a well-formed error; an unknown op too.
  RpcChannel channel(address);
  Frame req = make_request("GetBlockLocations");
  req.set("src", "/data/file-00");
  auto r = channel.call(req);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("dn1 has not registered"), std::string::npos) << r.error().message();
  auto unknown = channel.call(make_request("Format"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("unknown op"), std::string::npos);
  // Hostile baggage bytes: decoded as empty, the request is still served.
  Frame reg = make_request("RegisterDatanode");
  reg.set("host", "dn1");
  reg.set("port", "1");
  auto conn = connect_to(address);
  ASSERT_TRUE(conn);
  reg.set("baggage", std::string("\xff\xfe not baggage", 15));
  ASSERT_TRUE(write_frame(conn->fd(), reg).ok());
  auto ok = read_frame(conn->fd());
  ASSERT_TRUE(ok && *ok);
  EXPECT_EQ((*ok)->get("status"), "ok");
  nn.stop();
}

}  // namespace
}  // namespace minidfs
